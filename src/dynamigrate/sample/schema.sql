-- The sample online shop that the workshop's migration contract describes
-- (/work/shared/reference/workshop-migrationContract.json).
-- Compatible with MySQL 8 and MariaDB 10.6+. utf8mb4 everywhere so emoji survive, with the server's
-- default collation (mixing collations breaks UNIONs of CAST(... AS CHAR) in views).
-- Statements are separated by semicolons at line ends; keep semicolons out of comments.

CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    email         VARCHAR(255) NOT NULL,
    username      VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) NULL,
    first_name    VARCHAR(100) NULL,
    last_name     VARCHAR(100) NULL,
    is_seller     TINYINT(1)   NOT NULL DEFAULT 0,
    created_at    DATETIME     NOT NULL,
    updated_at    DATETIME     NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_email (email),
    UNIQUE KEY uq_users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE categories (
    id         BIGINT       NOT NULL AUTO_INCREMENT,
    parent_id  BIGINT       NULL,
    name       VARCHAR(150) NOT NULL,
    created_at DATETIME     NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_categories_name (name),
    KEY ix_categories_parent (parent_id),
    CONSTRAINT fk_categories_parent FOREIGN KEY (parent_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE products (
    id                 BIGINT        NOT NULL AUTO_INCREMENT,
    seller_id          BIGINT        NOT NULL,
    category_id        BIGINT        NULL,
    name               VARCHAR(255)  NOT NULL,
    description        MEDIUMTEXT    NULL,
    price              DECIMAL(12,2) NOT NULL,
    inventory_quantity INT           NOT NULL DEFAULT 0,
    image_url          VARCHAR(500)  NULL,
    created_at         DATETIME      NOT NULL,
    updated_at         DATETIME      NULL,
    PRIMARY KEY (id),
    KEY ix_products_seller (seller_id),
    KEY ix_products_category (category_id),
    CONSTRAINT fk_products_seller FOREIGN KEY (seller_id) REFERENCES users (id),
    CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE shopping_carts (
    id         BIGINT   NOT NULL AUTO_INCREMENT,
    user_id    BIGINT   NOT NULL,
    product_id BIGINT   NOT NULL,
    quantity   INT      NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_carts_user_product (user_id, product_id),
    KEY ix_carts_product (product_id),
    CONSTRAINT fk_carts_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_carts_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE orders (
    id           BIGINT        NOT NULL AUTO_INCREMENT,
    user_id      BIGINT        NOT NULL,
    status       VARCHAR(20)   NOT NULL DEFAULT 'pending',
    total_amount DECIMAL(14,2) NOT NULL DEFAULT 0.00,
    created_at   DATETIME      NOT NULL,
    updated_at   DATETIME      NULL,
    PRIMARY KEY (id),
    KEY ix_orders_user_created (user_id, created_at),
    KEY ix_orders_status (status),
    CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE order_items (
    id            BIGINT        NOT NULL AUTO_INCREMENT,
    order_id      BIGINT        NOT NULL,
    product_id    BIGINT        NOT NULL,
    quantity      INT           NOT NULL DEFAULT 1,
    price_at_time DECIMAL(12,2) NOT NULL,
    PRIMARY KEY (id),
    KEY ix_order_items_order (order_id),
    KEY ix_order_items_product (product_id),
    CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Technical data sheets: every MySQL type family the migration must carry into DynamoDB (dates and
-- times with fractional seconds, BINARY/BLOB, JSON, BIT, FLOAT, ENUM, numbers past 14 and 28 digits)
-- and one item close to DynamoDB's 400 KB limit. The BINARY sku is the items' sort key.
CREATE TABLE product_specs (
    id             BIGINT              NOT NULL AUTO_INCREMENT,
    product_id     BIGINT              NOT NULL,
    sku            BINARY(8)           NOT NULL,
    grade          ENUM('A','B','C','refurbished') NULL,
    in_stock       BIT(1)              NULL,
    weight_kg      FLOAT               NULL,
    lab_ratio      DECIMAL(38,10)      NULL,
    barcode        BIGINT UNSIGNED     NULL,
    released_on    DATE                NULL,
    opens_at       TIME(3)             NULL,
    measured_at    DATETIME(6)         NULL,
    certified_at   TIMESTAMP(2)        NULL DEFAULT NULL,
    thumbnail      MEDIUMBLOB          NULL,
    attributes     JSON                NULL,
    dimensions     JSON                NULL,
    colors         JSON                NULL,
    sizes          JSON                NULL,
    checksums      JSON                NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_specs_product_sku (product_id, sku),
    CONSTRAINT fk_specs_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Tags keyed by a VARCHAR code, and the junction table between products and tags (composite primary
-- key INT + VARCHAR, no id column): the source shapes that are not a single integer key.
CREATE TABLE tags (
    tag_code    VARCHAR(40)  NOT NULL,
    label       VARCHAR(100) NOT NULL,
    description VARCHAR(255) NULL,
    created_at  DATETIME     NOT NULL,
    PRIMARY KEY (tag_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE product_tags (
    product_id BIGINT      NOT NULL,
    tag_code   VARCHAR(40) NOT NULL,
    added_at   DATETIME    NOT NULL,
    PRIMARY KEY (product_id, tag_code),
    KEY ix_product_tags_tag (tag_code),
    CONSTRAINT fk_product_tags_product FOREIGN KEY (product_id) REFERENCES products (id),
    CONSTRAINT fk_product_tags_tag FOREIGN KEY (tag_code) REFERENCES tags (tag_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
