-- predict.sql: scoring videos with trained claim models, as an analyst
-- would: a whole table at once into a table of predictions, then single
-- videos typed in by hand.
--
-- Run it from the sqlite3 shell (3.35 or later) in a database that
-- contains the models 'default' and 'notebook' and a table test with the
-- dataset's columns, such as the database that sql/demo.sh or
-- sql/notebook_split.sql builds:
--
--   .load build/claim
--   .read sql/predict.sql
--
-- To score your own videos, import them (.import --csv new.csv videos_new)
-- and replace test with videos_new in step 1, and claim_status with NULL
-- if they have no label. The script replaces the table test_predictions.
--
-- The two prediction functions take the same arguments:
--
--   claim_predict([model,] views, likes, shares, downloads, comments,
--                 verified_status, author_ban_status, transcript)
--   claim_probability(...same arguments...)
--
-- claim_probability() returns the model's probability that the video is
-- a claim, from 0 to 1. claim_predict() returns 'claim' when that
-- probability is at least 0.5, and 'opinion' otherwise. The first
-- argument names the model. Without it, the model is 'default'.
--
-- Counts may be integers or numeric text, as .import stores them. A NULL
-- count is imputed with the training mean, and a NULL transcript counts
-- as empty. An empty string is an error, so write
-- NULLIF(video_view_count, '') to score rows with empty cells.

.bail on
.mode box

-- Step 1: score every row of test with both models into a new table.
-- Each function loads a model on its first call and keeps it for the
-- connection's later calls, so the cost per row is one pass through the
-- network.
DROP TABLE IF EXISTS test_predictions;
CREATE TABLE test_predictions(
  video_id TEXT,
  claim_status TEXT,            -- the known label, kept for comparison
  default_prediction TEXT,      -- 'claim' or 'opinion'
  default_p_claim REAL,         -- probability of 'claim', 0 to 1
  notebook_prediction TEXT,
  notebook_p_claim REAL
);
INSERT INTO test_predictions
  SELECT video_id,
         claim_status,
         claim_predict('default', video_view_count, video_like_count,
                       video_share_count, video_download_count,
                       video_comment_count, verified_status,
                       author_ban_status, video_transcription_text),
         claim_probability('default', video_view_count, video_like_count,
                           video_share_count, video_download_count,
                           video_comment_count, verified_status,
                           author_ban_status, video_transcription_text),
         claim_predict('notebook', video_view_count, video_like_count,
                       video_share_count, video_download_count,
                       video_comment_count, verified_status,
                       author_ban_status, video_transcription_text),
         claim_probability('notebook', video_view_count, video_like_count,
                           video_share_count, video_download_count,
                           video_comment_count, verified_status,
                           author_ban_status, video_transcription_text)
    FROM test;

-- Step 2: look at the result like any other table: how many predictions
-- match the label, and a few of the videos on which the models disagree.
.print
.print Predictions stored in test_predictions
SELECT count(*) AS rows,
       sum(default_prediction = claim_status) AS default_correct,
       sum(notebook_prediction = claim_status) AS notebook_correct,
       sum(default_prediction <> notebook_prediction) AS models_disagree
  FROM test_predictions;

.print
.print Videos on which the models disagree (first 5)
SELECT video_id, claim_status,
       default_prediction, round(default_p_claim, 4) AS default_p_claim,
       notebook_prediction, round(notebook_p_claim, 4) AS notebook_p_claim
  FROM test_predictions
  WHERE default_prediction <> notebook_prediction
  ORDER BY rowid
  LIMIT 5;

-- Step 3: one video typed in by hand, with each model. This is the first
-- example of the Keras notebook, which predicts 'opinion' for it.
.print
.print "One video (the notebook's first example), with each model"
WITH model(name) AS (VALUES ('default'), ('notebook'))
SELECT name AS model,
       claim_predict(name, 20000, 200, 200, 20, 50, 'not verified',
                     'active', 'my colleagues'' point of view is that 90 '
                     || 'percent of goods are shipped by ocean freight')
         AS prediction,
       round(claim_probability(name, 20000, 200, 200, 20, 50,
                               'not verified', 'active',
                               'my colleagues'' point of view is that 90 '
                               || 'percent of goods are shipped by ocean '
                               || 'freight'), 4)
         AS p_claim
  FROM model;

-- Step 4: several videos at once. A VALUES list (or any query) supplies
-- the rows, and the functions score each row, as in step 1. The Keras
-- notebook predicts 'opinion' for the first video and 'claim' for the
-- second. The models here learn from other rows, in another order, so
-- their predictions for these two made-up videos can differ from the
-- notebook's. The double space in the second transcript is the notebook's.
.print
.print "Two videos at once (the notebook's two examples), with each model"
WITH video(example, views, likes, shares, downloads, comments,
           verified_status, author_ban_status, transcript) AS (
  VALUES
    (1, 20000, 200, 200, 20, 50, 'not verified', 'active',
     'my colleagues'' point of view is that 90 percent of goods are '
     || 'shipped by ocean freight'),
    (2, 10000, 500, 400, 30, 1000, 'not verified', 'active',
     'a friend learned  from the news that at birth, baby pandas are '
     || 'smaller than mice')
),
model(name) AS (VALUES ('default'), ('notebook'))
SELECT model.name AS model,
       example,
       claim_predict(model.name, views, likes, shares, downloads, comments,
                     verified_status, author_ban_status, transcript)
         AS prediction,
       round(claim_probability(model.name, views, likes, shares, downloads,
                               comments, verified_status, author_ban_status,
                               transcript), 4)
         AS p_claim
  FROM model, video
  ORDER BY model.name, example;
