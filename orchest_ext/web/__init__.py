"""The HTTP face: REST handlers per area, error mapping and the OpenAPI contract."""
