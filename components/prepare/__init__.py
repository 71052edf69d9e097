"""The Prepare page's pieces, by purpose: fields (controlled widgets and their words), cached
previews of `layerlab.preview`, figures, the sections per kind of data, the augmentation editor."""
