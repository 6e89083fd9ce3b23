"""``python -m prosody.measures``: docs/measures.md from the registry."""
from .docs import docs_markdown

print(docs_markdown(), end="")
