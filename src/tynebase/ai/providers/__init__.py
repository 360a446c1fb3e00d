"""AI providers behind one interface (AI-1, AI-2); see `tynebase.ai` for the public surface.

Nothing is imported here on purpose: `tynebase.settings` imports `providers.config`, and this
package must stay cheap to import.
"""
