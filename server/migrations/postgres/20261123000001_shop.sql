CREATE TABLE IF NOT EXISTS products (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents > 0),
    image TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    total_cents BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS order_items (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    product_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_cents BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, id);

INSERT INTO products (id, name, price_cents, image) VALUES
    (1, 'Green Tea', 450, '/img/tea.svg'),
    (2, 'Coffee Beans', 1290, '/img/coffee.svg'),
    (3, 'Enamel Mug', 1500, '/img/mug.svg'),
    (4, 'Dot Grid Notebook', 890, '/img/notebook.svg'),
    (5, 'Fountain Pen', 3400, '/img/pen.svg'),
    (6, 'Canvas Backpack', 6900, '/img/backpack.svg'),
    (7, 'Water Bottle', 2200, '/img/bottle.svg'),
    (8, 'Headphones', 8900, '/img/headphones.svg'),
    (9, 'Desk Lamp', 4500, '/img/lamp.svg'),
    (10, 'Potted Fern', 1800, '/img/fern.svg'),
    (11, 'Wool Socks', 1200, '/img/socks.svg'),
    (12, 'Baseball Cap', 2500, '/img/cap.svg')
ON CONFLICT (id) DO NOTHING;
