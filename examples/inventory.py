"""A small inventory service: stock levels, reservations and restocking."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from pathlib import Path


class OutOfStock(Exception):
    """Raised when a reservation asks for more units than are available."""


@dataclass
class Item:
    sku: str
    name: str
    quantity: int = 0
    reserved: int = 0
    reorder_level: int = 5
    tags: set[str] = field(default_factory=set)

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


class Inventory:
    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def add(self, item: Item) -> None:
        if item.sku in self._items:
            raise ValueError(f"duplicate sku {item.sku}")
        self._items[item.sku] = item

    def reserve(self, sku: str, count: int) -> int:
        item = self._items[sku]
        if count <= 0:
            raise ValueError("count must be positive")
        if item.available < count:
            raise OutOfStock(f"{sku}: wanted {count}, have {item.available}")
        item.reserved += count
        return item.available

    def release(self, sku: str, count: int) -> None:
        item = self._items[sku]
        item.reserved = max(0, item.reserved - count)

    def items_to_reorder(self, limit: int = 10) -> list[Item]:
        low = [item for item in self._items.values() if item.available <= item.reorder_level]
        return heapq.nsmallest(limit, low, key=lambda item: item.available - item.reorder_level)

    def save(self, path: Path) -> None:
        data = [
            {"sku": i.sku, "name": i.name, "quantity": i.quantity, "tags": sorted(i.tags)}
            for i in self._items.values()
        ]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(path)


def load_inventory(path: Path) -> Inventory:
    inventory = Inventory()
    for record in json.loads(path.read_text()):
        inventory.add(
            Item(
                sku=record["sku"],
                name=record["name"],
                quantity=int(record.get("quantity", 0)),
                tags=set(record.get("tags", [])),
            )
        )
    return inventory


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for sku, n in count.items():
            total[sku] = total.get(sku, 0) + n
    return {sku: n for sku, n in total.items() if n}
