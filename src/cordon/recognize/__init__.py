"""Recognition: camera images and video to `PlateRead`s, offline (DESIGN.md §2)."""
