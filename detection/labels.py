"""The object labels gatewatch indexes and searches: the one list the detector, events and search share.

The search word ``vehicle`` means every label in :data:`VEHICLES` (bicycles included). Motor vehicles are
the labels the detector confuses with one another (a van seen as car, then truck), so tracks of one of
them may be joined across a label change.
"""

from __future__ import annotations

VEHICLES = ("car", "truck", "bus", "motorcycle", "bicycle")
"""Vehicle labels, in the order messages and help list them."""
LABELS = (*VEHICLES, "person")
"""Every label an event can carry."""
VEHICLE_WORD = "vehicle"
"""The search word that stands for all of :data:`VEHICLES`."""
LABEL_HELP = f"{', '.join(LABELS)} or {VEHICLE_WORD}"
"""How help texts list the labels a search accepts."""

VEHICLE_LABELS = frozenset(VEHICLES)
MOTOR_VEHICLES = VEHICLE_LABELS - {"bicycle"}

COCO_LABELS = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
"""The COCO classes gatewatch indexes, by class id."""
