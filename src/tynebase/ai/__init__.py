"""AI engine (SPEC section 5). This package's public surface, for other features:

Calls (all take `source`: `Settings` - the process's router for them - or an `AIRouter`):

* `tynebase.ai.chat.complete_chat(source, *, tenant_preference, messages, max_tokens=None,
  temperature=None, task=AITask.chat) -> ChatResult` (text, provider, model, usage, extractive)
* `tynebase.ai.chat.stream_chat(...same...) -> ChatStream`: `async for delta in stream` (str);
  `stream.provider/.model/.extractive` after the first delta, `.usage/.finish_reason` at the end
* `tynebase.ai.chat.llm_configured(source, *, tenant_preference=None, task=AITask.chat) -> bool`
* `tynebase.ai.providers.adapters.get_embedder / get_reranker / get_transcriber(source, *,
  tenant_preference=None)` -> an `Embedder` / `Reranker` / `Transcriber` (protocols in
  `tynebase.ai.providers.base`), or None when no provider serves the task
* `tynebase.ai.providers.extractive.summarize / outline / answer`: the offline text processing
* `tynebase.ai.preferences.load_preferences(conn, *, tenant_id) -> AIPreferences`
* `tynebase.ai.providers.registry.get_router(settings) -> AIRouter` (`.status()` for health)
* `tynebase.ai.providers.registry.first_choice(settings, preferences, task) -> (provider,
  model)`: who is asked first for a task (what credits are reserved on)

Errors: `tynebase.ai.providers.errors` (AI_INVALID_CREDENTIALS, AI_QUOTA_EXCEEDED,
AI_MODEL_UNAVAILABLE, AI_TIMEOUT, AI_BAD_RESPONSE, AI_REQUEST_REJECTED, AI_NOT_CONFIGURED).

Nothing is imported here: `tynebase.settings` imports `tynebase.ai.providers.config`, and
importing the settings must stay cheap.
"""
