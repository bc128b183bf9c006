"""Models: load checkpoints safely (checkpoint), the offline catalogue (catalog), shipped heads (heads),
where each family keeps its modules (arch), and the Rampart NER unpacked from ONNX (rampart)."""
