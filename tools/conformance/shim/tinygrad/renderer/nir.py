class NIRRenderer:  # never the renderer here
    pass
