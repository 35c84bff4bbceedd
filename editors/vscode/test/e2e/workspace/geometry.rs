#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub fn distance(a: Point, b: Point) -> f64 {
    let dx = a.x - b.x;
    let dy = a.y - b.y;
    (dx * dx + dy * dy).sqrt()
}

pub fn perimeter(points: &[Point]) -> f64 {
    let mut total = 0.0;
    for i in 0..points.len() {
        let next = points[(i + 1) % points.len()];
        total += distance(points[i], next);
    }
    total
}
