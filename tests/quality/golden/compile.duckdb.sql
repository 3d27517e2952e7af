SELECT
  count(*) AS m0,
  count("id") AS m1,
  count(*) FILTER (WHERE CAST("age" AS DOUBLE) / NULLIF(2, 0) > 10) AS m2,
  count("email") FILTER (WHERE CAST("age" AS DOUBLE) / NULLIF(2, 0) > 10) AS m3,
  count(*) FILTER (WHERE coalesce(regexp_full_match("name", '[a-z]+'), false)) AS m4,
  count("name") AS m5,
  count(*) FILTER (WHERE coalesce("age" > 18 AND "age" < 65, false)) AS m6,
  count("age") AS m7,
  count(*) FILTER (WHERE (coalesce("name" IN ('ann', 'bob'), false) OR "name" IS NULL)) AS m8,
  count(*) FILTER (WHERE coalesce(NOT ("email" = ''), true)) AS m9,
  count("email") AS m10,
  min("age") AS m11,
  count(*) FILTER (WHERE coalesce("age" >= 0, false)) AS m12,
  avg("age") AS m13,
  stddev_pop("age") AS m14,
  sum("score") AS m15,
  min(length(coalesce("name", ''))) AS m16,
  max(length(coalesce("name", ''))) AS m17,
  count(*) FILTER (WHERE coalesce(length(coalesce("name", '')) <= 5, false)) AS m18,
  count(*) FILTER (WHERE coalesce("joined" >= TIMESTAMP '2024-05-03 00:00:00.000000', false)) AS m19,
  count("joined") AS m20,
  count(*) FILTER (WHERE TRY_CAST("code" AS INTEGER) IS NOT NULL) AS m21,
  count("code") AS m22,
  corr("id", "age") AS m23,
  quantile_cont("age", 0.75) - quantile_cont("age", 0.25) AS m24,
  count(*) FILTER (WHERE coalesce("joined" > TIMESTAMP '2024-05-26 00:00:00.000000', false)) AS m25,
  count(*) FILTER (WHERE coalesce("age" > 30, false)) AS m26,
  min("score") AS m27,
  count(*) FILTER (WHERE coalesce("score" > 1, false)) AS m28,
  count("score") AS m29
FROM "primary";

SELECT
  sum(n0) FILTER (WHERE nn) AS g0_rows0,
  count(*) FILTER (WHERE nn AND n0 = 1) AS g0_unique0
FROM (
  SELECT ("id" IS NOT NULL) AS nn, count(*) AS n0
  FROM "primary"
  GROUP BY "id"
) AS freq;

SELECT
  sum(n0) FILTER (WHERE nn) AS g1_rows0,
  count(*) FILTER (WHERE nn AND n0 = 1) AS g1_unique0
FROM (
  SELECT ("id" IS NOT NULL OR "name" IS NOT NULL) AS nn, count(*) AS n0
  FROM "primary"
  GROUP BY "id", "name"
) AS freq;

SELECT
  count(*) FILTER (WHERE nn AND n0 > 0) AS g2_distinct0,
  count(*) FILTER (WHERE NOT nn AND n0 > 0) AS g2_nullgroups0,
  sum(n0) FILTER (WHERE nn) AS g2_rows0,
  sum(n0 * ln(n0)) FILTER (WHERE nn AND n0 > 0) AS g2_plogp0,
  count(*) FILTER (WHERE nn AND n1 > 0) AS g2_distinct1,
  count(*) FILTER (WHERE nn AND n1 = 1) AS g2_unique1
FROM (
  SELECT ("name" IS NOT NULL) AS nn, count(*) AS n0, count(*) FILTER (WHERE age > 20) AS n1
  FROM "primary"
  GROUP BY "name"
) AS freq;

SELECT COUNT(*) FROM "primary" AS "primary" WHERE age > 30;
