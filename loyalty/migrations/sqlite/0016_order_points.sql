-- The brand's cap on paying with points holds per order (issue 21): one row
-- per order that points paid or that was recorded, with what points have
-- paid on it and, once the purchase is recorded, its bill net of refunds.
-- Paying and recording each change this row in one conditional upsert, so
-- the cap holds whatever the order of the calls and however many run at
-- once: two payments on one order wait for each other on this row.
CREATE TABLE order_points (
    brand_id  BIGINT NOT NULL,
    store_id  BIGINT NOT NULL,
    order_id  TEXT   NOT NULL,
    paid_fen  BIGINT NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    bill_fen  BIGINT CHECK (bill_fen >= 0),
    PRIMARY KEY (store_id, order_id),
    FOREIGN KEY (brand_id, store_id) REFERENCES stores (brand_id, id)
);

INSERT INTO order_points (brand_id, store_id, order_id, paid_fen, bill_fen)
SELECT brand_id, store_id, order_id, 0, amount_fen - refunded_fen FROM purchases;

INSERT INTO order_points (brand_id, store_id, order_id, paid_fen)
SELECT brand_id, store_id, order_id, SUM(value_fen) FROM point_redemptions
WHERE status = 'active'
GROUP BY brand_id, store_id, order_id
ON CONFLICT (store_id, order_id) DO UPDATE SET paid_fen = excluded.paid_fen;
