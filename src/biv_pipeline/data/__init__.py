"""The framework-free data layer: dataset registry, tables, images, preprocessing."""
