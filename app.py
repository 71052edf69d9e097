"""Layerlab's entry point: the page list and the navigation live in components/shell.py."""

from components import shell

if __name__ == "__main__":
    shell.run()
