"""What the Lessons page computes that the other pages do not (the fine-tuning step's head arithmetic)."""
