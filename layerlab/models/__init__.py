"""Model parts: the layer registry, templates, and assembly from a spec."""
