"""Infrastructure the engines stand on: the Docker engine client, images and environments."""
