"""Typing mistakes mypy must catch through the package's types (py.typed shipped and read)."""
from lavendly import Lavendly

client = Lavendly()
client.workflows.create(name=42, shots=[])
client.workflows.create(name="x", shots=[{"prompt": "a fox", "duration_s": "five"}])
client.workflows.get("wf_1")["no_such_field"]
