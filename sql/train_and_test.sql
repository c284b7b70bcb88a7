-- train_and_test.sql: trains the claim extension's two models on the
-- table train and prints their scores on the table test, which no model
-- has seen. sql/notebook_split.sql and sql/demo.sh both end their
-- experiment with it.
--
-- Run it from the sqlite3 shell (3.35 or later) after loading the
-- extension, in a database with the tables train and test, and with the
-- shell parameter @validation set to the "validation" option of both
-- trainings: a table name such as 'val', or a fraction of train such as
-- 0.2 (the default when @validation is not set). The quotes make 'val'
-- an SQL string:
--
--   .parameter set @validation "'val'"
--   .read sql/train_and_test.sql
--
-- The script replaces the models named 'default' and 'notebook'.

.bail on
.mode box

-- Train both models: the extension's default settings, and the 'notebook'
-- preset, which copies the Keras notebook's preprocessing and network.
-- claim_train(source, options) learns the vocabulary, the category
-- lookups and the normalization from the training rows, and trains for 20
-- epochs. After each epoch it scores the validation rows: the table that
-- "validation" names, or a fraction of train chosen with the seed, so the
-- same rows every run. The model keeps the weights of its best epoch: the
-- lowest validation loss by default, the highest validation accuracy for
-- the 'notebook' preset. The model is stored in the claim_* tables of
-- this database, under the name given by "model" ('default' when
-- absent).
--
-- claim_train() returns a JSON summary. The CTE is MATERIALIZED so that
-- each training runs once: without it, SQLite may copy the call into
-- each json_extract() below.
.print
.print Training (seconds: wall-clock time to read the rows and train)
WITH run(summary) AS MATERIALIZED (
  SELECT claim_train('train',
                     json_object('validation', coalesce(@validation, 0.2)))
  UNION ALL
  SELECT claim_train('train',
                     json_object('validation', coalesce(@validation, 0.2),
                                 'model', 'notebook',
                                 'preset', 'notebook'))
)
SELECT json_extract(summary, '$.model') AS model,
       json_extract(summary, '$.train_rows') AS train_rows,
       json_extract(summary, '$.validation_rows') AS val_rows,
       json_extract(summary, '$.epochs_run') AS epochs,
       json_extract(summary, '$.best_epoch') AS best_epoch,
       round(json_extract(summary, '$.val_accuracy'), 4) AS val_accuracy,
       printf('%.4g', json_extract(summary, '$.val_loss')) AS val_loss,
       round(json_extract(summary, '$.seconds'), 2) AS seconds
  FROM run;

-- Score both models on the test rows. claim_evaluate(source, model)
-- returns JSON with the accuracy, the mean binary cross-entropy loss, the
-- confusion matrix and the precision, recall and F1 of each class. In the
-- confusion columns, "claim→opinion" counts the claims that the model
-- predicted as opinions.
.print
.print Test set
WITH report(result) AS MATERIALIZED (
  SELECT claim_evaluate('test', 'default')
  UNION ALL
  SELECT claim_evaluate('test', 'notebook')
)
SELECT json_extract(result, '$.model') AS model,
       json_extract(result, '$.rows') AS rows,
       round(json_extract(result, '$.accuracy'), 4) AS accuracy,
       printf('%.4g', json_extract(result, '$.loss')) AS loss,
       round(json_extract(result, '$.f1.claim'), 4) AS f1_claim,
       round(json_extract(result, '$.f1.opinion'), 4) AS f1_opinion,
       json_extract(result, '$.confusion.claim.claim') AS "claim→claim",
       json_extract(result, '$.confusion.claim.opinion') AS "claim→opinion",
       json_extract(result, '$.confusion.opinion.claim') AS "opinion→claim",
       json_extract(result, '$.confusion.opinion.opinion')
         AS "opinion→opinion"
  FROM report;
