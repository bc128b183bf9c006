"""The Lessons page's parts: lesson state and models (state), the overview diagram (diagram), the nine steps."""
