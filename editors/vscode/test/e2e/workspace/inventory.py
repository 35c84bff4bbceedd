from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items, discount=0.0):
    total = 0.0
    for item in items:
        total += item.price * item.quantity
    return total * (1.0 - discount)


def low_stock(items, threshold=5):
    return [item.name for item in items if item.quantity < threshold]
