"""Pictures taken with a camera, per class, turned into an image data set like an uploaded zip.

The Data page's camera source holds the pictures while the user takes them; `save_pictures` writes
them as a zip of class folders into the session's uploads (`workspace.save_upload`), so they are
listed, kept and swept like any upload, and training opens them the way it opens an uploaded zip.
The rules live here so any client (the page, a script) names classes and checks pictures alike:
class names become folder names, and a picture must be an image the zip reader takes
(`images.IMAGE_EXTENSIONS`) within the pixel limit (`images.decode_image`).
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence

from layerlab.data.images import _IGNORED, decode_image
from layerlab.errors import DataError
from layerlab.workspace import Source, save_upload

MAX_NAME_CHARS = 40
# The page holds the pictures in the session's memory until they are used: about 50 kB each from a webcam.
MAX_PICTURES = 500
UPLOAD_NAME = "camera-pictures.zip"
# Pillow's name of a format → the extension the zip reader lists it by (images.IMAGE_EXTENSIONS).
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "GIF": ".gif", "WEBP": ".webp"}


def class_name(name: str, taken: Iterable[str] = ()) -> str:
    """The class name as it will be kept (spaces around it dropped), or a DataError saying why it cannot be one.

    A class name becomes a folder in the data set, so it may not hold a slash or a control character,
    start with a dot, or differ from a class already named (`taken`) only in upper and lower case.
    """
    name = unicodedata.normalize("NFC", str(name)).strip()
    hint = "Use a short plain name such as `mug` or `red pen`."
    if not name:
        raise DataError("A class needs a name.", hint)
    if len(name) > MAX_NAME_CHARS:
        raise DataError(f"The class name `{name[:MAX_NAME_CHARS]}…` is {len(name)} characters long; the limit is "
                        f"{MAX_NAME_CHARS}.", hint)
    if any(c in "/\\" or unicodedata.category(c).startswith("C") for c in name):
        raise DataError(f"The class name `{name}` holds a slash or a control character; it becomes a folder name, "
                        "so it cannot.", hint)
    if name.startswith(".") or name in _IGNORED:
        raise DataError(f"The class name `{name}` would be skipped as a hidden or system folder.", hint)
    same = [t for t in taken if t.casefold() == name.casefold()]
    if same:
        raise DataError(f"There is already a class named `{same[0]}`.", "Give each class its own name.")
    return name


def picture_extension(data: bytes, label: str = "The picture") -> str:
    """The extension the picture is stored under (`.jpg`, `.png`, …) once it is checked like an uploaded image:
    a format the image reader takes and no more pixels than LAYERLAB_IMAGE_PIXELS. DataError otherwise."""
    from PIL import Image, UnidentifiedImageError

    hint = "Take the picture again, or upload a PNG or JPEG."
    try:
        with Image.open(io.BytesIO(bytes(data))) as im:
            kind = im.format or ""
    except (UnidentifiedImageError, OSError, ValueError, TypeError):
        raise DataError(f"{label} is not an image we can read.", hint) from None
    if kind not in _EXTENSIONS:
        raise DataError(f"{label} is a {kind} image; PNG, JPEG, BMP, GIF and WebP are read.", hint)
    try:
        decode_image(bytes(data))
    except DataError as exc:
        raise DataError(f"{label}: {exc.message}", exc.hint or hint) from None
    return _EXTENSIONS[kind]


def add_class(pictures: dict[str, list[bytes]], name: str) -> str:
    """Add a class with no pictures yet under its checked name (`class_name`), which is returned."""
    name = class_name(name, pictures)
    pictures[name] = []
    return name


def add_picture(pictures: dict[str, list[bytes]], name: str, data: bytes) -> None:
    """Add a picture to a class once it is checked like an uploaded image, within MAX_PICTURES in all."""
    if name not in pictures:
        raise DataError(f"There is no class named `{name}`.", "Name the class first, then take its pictures.")
    if sum(len(shots) for shots in pictures.values()) >= MAX_PICTURES:
        raise DataError(f"There are {MAX_PICTURES:,} pictures already, the most the camera source holds.",
                        "Use these pictures, or remove some first.")
    picture_extension(data, f"The picture of `{name}`")
    pictures[name].append(bytes(data))


def pictures_zip(pictures: Mapping[str, Sequence[bytes]]) -> bytes:
    """The pictures as a zip of class folders (`mug/001.jpg`, …), checked first: two or more classes, each named
    by the rules of `class_name` and holding at least one picture, and every picture an image we read."""
    if len(pictures) < 2:
        raise DataError(f"A classifier needs at least two classes; there {'is' if len(pictures) == 1 else 'are'} "
                        f"{len(pictures)}.", "Name another class and take pictures of it.")
    total = sum(len(shots) for shots in pictures.values())
    if total > MAX_PICTURES:
        raise DataError(f"There are {total:,} pictures; the limit is {MAX_PICTURES:,}.",
                        "Remove some, or zip the class folders and upload them instead.")
    names: list[str] = []
    for name, shots in pictures.items():
        names.append(class_name(name, names))
        if not shots:
            raise DataError(f"The class `{names[-1]}` has no pictures yet.",
                            "Take at least one picture of it (a few dozen teach a model better), or remove the class.")
    buffer = io.BytesIO()
    # Pictures are JPEG or PNG already: storing them uncompressed costs nothing and is fast.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, shots in zip(names, pictures.values()):
            for i, data in enumerate(shots, start=1):
                ext = picture_extension(data, f"Picture {i} of `{name}`")
                zf.writestr(f"{name}/{i:03d}{ext}", bytes(data))
    return buffer.getvalue()


def save_pictures(session: str, pictures: Mapping[str, Sequence[bytes]]) -> Source:
    """Keep the pictures in the session's uploads as a zip of class folders and return it as the data source:
    from here on they are an uploaded zip (listed, deletable and swept like one; the same pictures are one file)."""
    return Source(str(save_upload(session, UPLOAD_NAME, pictures_zip(pictures))))
