"""The clusters' colours as data: Glasbey's maximally distinct palette, 256 colours.

colorcet's ``glasbey_bw_minc_20_maxl_70`` (C. Glasbey, G. van der Heijden, V. Toh, A. Gray,
"Colour displays for categorical images", Color Research & Application 32(4), 2007; of
lightness at most 70 and chroma at least 20, so that each stands out on a light base map),
copied here in upper case so that drawing a map needs no import of colorcet, which builds
every palette it has (about a second and tens of MB). ``tests/test_maps.py`` checks the
copy against colorcet's list.
"""

__all__ = ["GLASBEY"]

#: ``#RRGGBB`` colours, in colorcet's order (each as distinct from those before it as can be).
GLASBEY = (
    "#D60000", "#8C3BFF", "#018700", "#00ACC6", "#E6A500", "#FF7ED1", "#6B004F", "#573B00",
    "#005659", "#15E18C", "#0000DD", "#A17569", "#BCB6FF", "#BF03B8", "#645472", "#790000",
    "#0774D8", "#729A7C", "#FF7752", "#004B00", "#8E7B01", "#F2007B", "#8EBA00", "#A57BB8",
    "#5901A3", "#E2AFAF", "#A03A52", "#A1C8C8", "#9E4B00", "#546744", "#BAC389", "#5E7B87",
    "#60383B", "#8287FF", "#380000", "#E252FF", "#2F5282", "#7ECAFF", "#C4668E", "#008069",
    "#919EB6", "#CC7407", "#7E2A8E", "#00BDA3", "#2DB152", "#4D33FF", "#00E400", "#FF00CD",
    "#C85748", "#E49CFF", "#1CA1FF", "#6E70AA", "#C89A69", "#77563B", "#03DAE6", "#C1A3C3",
    "#FF6989", "#BA00FD", "#915280", "#9E0174", "#93A14F", "#364424", "#AF6DFF", "#596D00",
    "#FF3146", "#828056", "#006D2D", "#8956AF", "#5949A3", "#773416", "#85C39A", "#5E1123",
    "#D48580", "#A32818", "#0087B1", "#CA0044", "#FFA056", "#EB4D00", "#6B9700", "#528549",
    "#755900", "#C8C33F", "#91D370", "#4B9793", "#4D230C", "#60345B", "#8300CF", "#8A0031",
    "#9E6E31", "#AC8399", "#C63189", "#015438", "#086B83", "#87A8EB", "#6466EF", "#C35DBA",
    "#019E70", "#805059", "#826E8C", "#B3BFDA", "#B89028", "#FF97B1", "#A793E1", "#698CBD",
    "#4B4F01", "#4801CC", "#60006E", "#446966", "#9C5642", "#7BACB5", "#CD83BC", "#0054C1",
    "#7B2F4F", "#FB7C00", "#34BF00", "#FF9C87", "#E1B669", "#526077", "#5B3A7C", "#EDA5DA",
    "#EF52A3", "#5D7E69", "#C3774F", "#D14867", "#6E00EB", "#1F3400", "#C14103", "#6DD4C1",
    "#46709E", "#A101C3", "#0A8289", "#AFA501", "#A55B6B", "#FD77FF", "#8A85AE", "#C67EE8",
    "#9AAA85", "#876BD8", "#01BAF6", "#AF5DD1", "#59502A", "#B5005E", "#7CB569", "#4985FF",
    "#00C182", "#D195AA", "#A34BA8", "#E205E2", "#16A300", "#382D00", "#832F33", "#5D95AA",
    "#590F00", "#7B4600", "#6E6E31", "#335726", "#4D60B5", "#A19564", "#623F28", "#44D457",
    "#70AACF", "#2D6B4D", "#72AF9E", "#FD1500", "#D8B391", "#79893B", "#7CC6D8", "#DB9036",
    "#EB605D", "#EB5ED4", "#E47BA7", "#A56B97", "#009744", "#BA5E21", "#BCAC52", "#87D82F",
    "#873472", "#AEA8D1", "#E28C62", "#D1B1EB", "#36429E", "#3ABDC1", "#669C4D", "#9E0399",
    "#4D4D79", "#7B4B85", "#C33431", "#8C6677", "#AA002D", "#7E0175", "#01824D", "#724967",
    "#727790", "#6E0099", "#A0BA52", "#E16E31", "#C46970", "#6D5B95", "#A33B74", "#316200",
    "#87004F", "#335769", "#BA8C7C", "#1859FF", "#909101", "#2B8AD4", "#1626FF", "#21D3FF",
    "#A390AF", "#8A6D4F", "#5D213D", "#DB03B3", "#6E56CA", "#642821", "#AC7700", "#A3BFF6",
    "#B58346", "#9738DB", "#B15093", "#7242A3", "#878ED1", "#8970B1", "#6BAF36", "#5979C8",
    "#C69EFF", "#56831A", "#00D6A7", "#824638", "#11421C", "#59AA75", "#905B01", "#F64470",
    "#FF9703", "#E14231", "#BA91CF", "#34574D", "#F7807C", "#903400", "#B3CD00", "#2D9ED3",
    "#798A9E", "#50807C", "#C136D6", "#EB0552", "#B8AC7E", "#487031", "#839564", "#D89C89",
    "#0064A3", "#4B9077", "#8E6097", "#FF5238", "#A7423B", "#006E70", "#97833D", "#DBAFC8",
)
