"""The Lessons page's parts: lesson state and models (state), the overview diagram (diagram), the ten steps (step 10 in step_layers)."""
