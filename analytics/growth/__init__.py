"""Growth of a base model's model tree on the Hub, and Wang-Song-Barabasi fits of it."""
