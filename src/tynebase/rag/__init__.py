"""Retrieval and answers (RAG-1..5): chunking, embeddings in pgvector, hybrid retrieval, source
health and chat with citations."""
