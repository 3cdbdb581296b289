"""The store of record: reads, camera keys, health counters and plate images."""

from cordon.store.base import AppendResult, RejectionCount, Store, StoreError
from cordon.store.factory import open_store

__all__ = ["AppendResult", "RejectionCount", "Store", "StoreError", "open_store"]
