import numpy as np

from layerlab.explain import image_occlusion, overlay


def test_image_occlusion_highlights_where_the_digit_is(digits_run):
    from layerlab.data.images import open_images
    from layerlab.predict import load_predictor

    pred = load_predictor(digits_run.path)
    img = open_images("sample:digits").decode(0)
    out = image_occlusion(pred, img)
    heat = out["heat"]
    assert heat.shape == (8, 8) and 0 <= heat.min() and heat.max() == 1.0
    # Hiding ink matters more than hiding the empty border.
    ink = img[..., 0] > 64
    assert heat[ink].mean() > heat[~ink].mean()
    shown = overlay(img, heat)
    assert shown.shape == (8, 8, 3) and shown.dtype == np.uint8
