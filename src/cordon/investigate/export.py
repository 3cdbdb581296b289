"""Evidence export: one ZIP with the reads, their images, a JSON report of the request and the door's decision,
and a SHA-256 manifest of every file (`manifest.sha256`, the `sha256sum -c` format).

    reads.jsonl        one read per line (FIWARE names, plus `readId` and `movement`)
    images/<sha256>    each plate image the reads refer to, as stored (content-addressed)
    report.json        who, when, purpose, reason, offence type, case, decision, query, windows, counts
    manifest.sha256    "<sha256>  <path>" for each file above
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

import orjson

from cordon.config.zone import ZoneConfig
from cordon.investigate.consultation import Consultation
from cordon.investigate.queries import Export
from cordon.investigate.results import ConsultationResult
from cordon.store.images import ImageStore
from cordon.timeutil import isoformat_z

# A fixed timestamp inside the archive: the same evidence gives the same bytes (the manifest is the proof).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class EvidenceExport:
    """The ZIP and what the audit entry records about it."""

    data: bytes
    manifest_sha256: str
    images: int
    missing_images: int
    result: ConsultationResult

    @property
    def filename(self) -> str:
        return f"cordon-evidence-{self.manifest_sha256[:12]}.zip"


def build_export(
    zone: ZoneConfig,
    images: ImageStore,
    actor: str,
    consultation: Consultation,
    query: Export,
    result: ConsultationResult,
    at: datetime,
) -> EvidenceExport:
    """Assemble the evidence ZIP (no store access beyond reading the images)."""
    files: dict[str, bytes] = {}
    lines = []
    for found in result.reads:
        body = found.read.to_json_dict()
        body["readId"] = found.read_id
        if found.movement is not None:
            body["movement"] = found.movement.value
        lines.append(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    files["reads.jsonl"] = b"\n".join(lines) + (b"\n" if lines else b"")
    missing = 0
    for ref in sorted({f.read.image_ref for f in result.reads if f.read.image_ref}):
        data = images.get(ref)
        if data is None:
            missing += 1
            continue
        files[f"images/{ref}"] = data
    report = {
        "zone": zone.zone.id,
        "controller": zone.zone.controller,
        "generatedAt": isoformat_z(at),
        "generatedBy": actor,
        "consultation": consultation.model_dump(mode="json"),
        "query": query.model_dump(mode="json"),
        "door": result.door.model_dump(mode="json"),
        "reads": result.count,
        "images": len(files) - 1,
        "missingImages": missing,
    }
    files["report.json"] = orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    manifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    files["manifest.sha256"] = manifest.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
    return EvidenceExport(
        buffer.getvalue(), hashlib.sha256(files["manifest.sha256"]).hexdigest(), len(files) - 3, missing, result
    )
