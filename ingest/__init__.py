"""The write side: load, clean, chunk, embed, store. It imports only the layers below it
(domain types, settings, errors, the store and the embedder), never the facade."""
