"""The evaluation harness (``assistant eval``) and its own small datasets."""
