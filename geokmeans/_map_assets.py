"""The scripts and styles a map needs, shipped in the package and inlined into its page.

``_assets/`` holds Leaflet's files from its npm release, unmodified, with its licence;
``_assets/manifest.json`` records their version and SHA-256 (``scripts/refresh_map_assets.py``
downloads them again). ``leaflet_head()`` is the text placed in a page's ``<head>``: the
stylesheet (its layer-control images as ``data:`` URIs) and the script, inline, so that the
page loads nothing from the network; the default marker's images are added only to maps
that hold folium elements of the user's. The text is put into the page as it is, never through a
template engine.
"""

import base64
import json
import re
from functools import lru_cache
from importlib import resources

__all__ = ["asset_versions", "leaflet_head"]

# the stylesheet's images that a map uses (the layer control's button), inlined
_INLINE_IMAGES = ("images/layers.png", "images/layers-2x.png")
# text that would end or confuse the inline element holding an asset
_UNSAFE = {"script": re.compile(r"</script|<!--|<script", re.IGNORECASE),
           "style": re.compile(r"</style|<!--", re.IGNORECASE)}


def _asset(relative):
    return resources.files("geokmeans").joinpath("_assets", *relative.split("/"))


@lru_cache(maxsize=1)
def asset_versions():
    """``{package: version}`` of the shipped assets (from the manifest)."""
    manifest = json.loads(_asset("manifest.json").read_text(encoding="utf-8"))
    return {name: entry["version"] for name, entry in manifest.items()}


def _inline(kind, text, name):
    """``text`` in a ``<script>`` or ``<style>`` element; refused if it could end it early."""
    if _UNSAFE[kind].search(text):
        raise ValueError(f"{name} cannot be inlined: it contains text that would end "
                         f"its <{kind}> element")
    return f"<{kind}>\n{text}\n</{kind}>"


def _data_uri(image):
    data = base64.b64encode(_asset(f"leaflet/{image}").read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


@lru_cache(maxsize=2)
def leaflet_head(markers=False):
    """The ``<head>`` text that loads Leaflet from the package: its stylesheet and script;
    with ``markers``, also Leaflet's default marker images (for markers added to a map)."""
    css = _asset("leaflet/leaflet.css").read_text(encoding="utf-8")
    for image in _INLINE_IMAGES:
        css = css.replace(f"url({image})", f"url({_data_uri(image)})")
    js = _asset("leaflet/leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", js)  # no file to fetch beside it
    version = asset_versions()["leaflet"]
    return (f"<!-- Leaflet {version} (BSD-2-Clause), inlined by geokmeans -->\n"
            + _inline("style", css, "leaflet.css") + "\n"
            + _inline("script", js, "leaflet.js")
            + ("\n" + _inline("script", _default_marker_js(), "marker images") if markers else ""))


def _default_marker_js():
    """Leaflet's default marker drawn from inline images (it would look for files beside
    the page): no path prefix, each image a ``data:`` URI."""
    options = {"iconUrl": "marker-icon.png", "iconRetinaUrl": "marker-icon-2x.png",
               "shadowUrl": "marker-shadow.png"}
    uris = {key: _data_uri(f"images/{name}") for key, name in options.items()}
    return f"L.Icon.Default.imagePath = '';\nL.Icon.Default.mergeOptions({json.dumps(uris)});"
