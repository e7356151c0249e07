"""Fetching and parsing sources: RSS/Atom/RDF/JSON Feed and HTML list pages. Knows nothing of chats or SQL."""
