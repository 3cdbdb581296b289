"""Traffic flows on anonymised data: a pipeline apart from the police store that can never give back a plate.

Traffic statistics are not a police purpose (DESIGN.md §4). Every committed read of a camera authorised for
traffic statistics yields a `FlowRecord` (camera, lane, direction, movement, time, class, country, and keyed
hashes of the plate and of its look-alike key under a secret that lives one local day); the figures (counts,
profiles, origin-destination, travel times, through traffic, heavy vehicles) are computed from those records
and published with small cells suppressed. See docs/flows.md.

- `build_pipeline(settings, zone)` → `FlowPipeline` (recorder, store, daily secrets); `FlowSink` feeds it from
  the `ReadBus`;
- `FlowsService(store, zone, k=...)`: the figures, for the API (`/api/v1/flows/...`) and the CLI (`cordon flows`).
"""
