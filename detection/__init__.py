"""Video into events: decoding and sampling, motion gating, the detector, tracking, zones,
tracks into events, the indexing pipeline, the event index and indexing jobs."""
