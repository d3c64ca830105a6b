"""Video as stored: sites and cameras, NVR file names, probing, content-addressed storage,
the segment catalogue, clip cutting and evidence export."""
