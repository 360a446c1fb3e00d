"""Credits (AI-3): a monthly pool per tenant, reserved before AI work, charged once after it."""
