"""Container backends: a Docker container (or a Swarm service) per step, and the entry point
that runs inside them."""
