"""Data: reading what users bring, bundled samples, validation and splitting."""
