"""The local server: static browser app plus the analytics kernel API."""
