/*
** Unit tests of the training loop (ext/trainer.c) on small synthetic
** datasets, and of the seeded generator (ext/rng.c) that makes training
** reproducible.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "rng.h"
#include "trainer.h"
#include "unit.h"

/* ---- Random generator -------------------------------------------------- */

static void test_rng_known_sequence(void) {
  /* splitmix64 seeding and xoshiro256** outputs for seed 1, from an
  ** independent implementation of both published algorithms. */
  Rng rng;
  rng_seed(&rng, 1);
  CHECK_U64(rng.s[0], 0x910a2dec89025cc1ull);
  CHECK_U64(rng.s[1], 0xbeeb8da1658eec67ull);
  CHECK_U64(rng.s[2], 0xf893a2eefb32555eull);
  CHECK_U64(rng.s[3], 0x71c18690ee42c90bull);
  CHECK_U64(rng_next(&rng), 0xb3f2af6d0fc710c5ull);
  CHECK_U64(rng_next(&rng), 0x853b559647364ceaull);
  CHECK_U64(rng_next(&rng), 0x92f89756082a4514ull);

  rng_seed(&rng, 1);
  CHECK_DOUBLE(rng_uniform(&rng), 0.7029218331588505);
}

static void test_rng_below_and_shuffle(void) {
  Rng rng;
  rng_seed(&rng, 2);
  int seen[7] = {0};
  int out_of_range = 0;
  for (int i = 0; i < 7000; i++) {
    uint64_t x = rng_below(&rng, 7);
    if (x >= 7) out_of_range++;
    else seen[x]++;
  }
  CHECK_INT(out_of_range, 0);
  for (int k = 0; k < 7; k++) {
    CHECK(seen[k] > 800);
    CHECK(seen[k] < 1200);
  }
  CHECK_U64(rng_below(&rng, 1), 0);

  int items[100], count[100] = {0};
  for (int i = 0; i < 100; i++) items[i] = i;
  rng_shuffle(&rng, items, 100);
  int moved = 0;
  for (int i = 0; i < 100; i++) {
    if (items[i] >= 0 && items[i] < 100) count[items[i]]++;
    moved += items[i] != i;
  }
  for (int i = 0; i < 100; i++) CHECK_INT(count[i], 1);
  CHECK(moved > 50);
}

/* ---- Synthetic datasets ------------------------------------------------ */

enum { N_TEXT = 8 };

/*
** Rows with two tabular features in [-1, 1] and label x0 + 0.5 x1 > 0,
** kept at least 0.1 away from the boundary, so a small network separates
** them. Each row has one or two bag-of-words tokens. Token 2 appears only
** in opinions and token 3 only in claims, the others in both.
*/
static int make_dataset(Dataset *d, int n, uint64_t seed) {
  memset(d, 0, sizeof(*d));
  d->n = n;
  d->n_tabular = 2;
  d->tabular = malloc((size_t)n * 2 * sizeof(float));
  d->label = malloc((size_t)n * sizeof(float));
  d->text_offset = malloc(((size_t)n + 1) * sizeof(int64_t));
  d->text_column = malloc((size_t)n * 2 * sizeof(int32_t));
  d->text_value = malloc((size_t)n * 2 * sizeof(float));
  if (!d->tabular || !d->label || !d->text_offset || !d->text_column ||
      !d->text_value)
    return -1;

  Rng rng;
  rng_seed(&rng, seed);
  int64_t nnz = 0;
  d->text_offset[0] = 0;
  for (int i = 0; i < n; i++) {
    double x0, x1, margin;
    do {
      x0 = 2 * rng_uniform(&rng) - 1;
      x1 = 2 * rng_uniform(&rng) - 1;
      margin = x0 + 0.5 * x1;
    } while (fabs(margin) < 0.1);
    int opinion = margin > 0;
    d->tabular[2 * i] = (float)x0;
    d->tabular[2 * i + 1] = (float)x1;
    d->label[i] = (float)opinion;

    int shared = 4 + (int)rng_below(&rng, N_TEXT - 4);
    if (rng_below(&rng, 2)) {
      d->text_column[nnz] = opinion ? 2 : 3;
      d->text_value[nnz++] = 0.70710678f;
      d->text_column[nnz] = shared;
      d->text_value[nnz++] = 0.70710678f;
    } else {
      d->text_column[nnz] = shared;
      d->text_value[nnz++] = 1.0f;
    }
    d->text_offset[i + 1] = nnz;
  }
  return 0;
}

static const NetworkShape test_shape = {2, N_TEXT, {8, 4}, {4, 2}};

static TrainConfig test_config(void) {
  TrainConfig config;
  memset(&config, 0, sizeof(config));
  config.epochs = 20;
  config.batch_size = 16;
  config.adam = adam_default();
  config.adam.learning_rate = 0.01;
  config.seed = 42;
  config.shuffle = 1;
  config.monitor = MONITOR_VAL_ACCURACY;
  config.patience = 0;
  return config;
}

typedef struct Fixture {
  Dataset train, val;
  Network net;
} Fixture;

static void fixture_free(Fixture *f) {
  dataset_free(&f->train);
  dataset_free(&f->val);
  network_free(&f->net);
}

/* Datasets of 256 and 128 rows and a fresh network from config's seed. */
static int fixture_init(Fixture *f, const TrainConfig *config,
                        int sparse_text) {
  memset(f, 0, sizeof(*f));
  if (make_dataset(&f->train, 256, 100) || make_dataset(&f->val, 128, 200))
    return -1;
  if (network_init(&f->net, &test_shape)) return -1;
  f->net.sparse_text = sparse_text;
  network_glorot(&f->net, config->seed);
  return 0;
}

/* ---- Hooks ------------------------------------------------------------- */

typedef struct Recorder {
  const Network *net;
  int calls;                 /* should_stop calls so far */
  int stop_at_call;          /* 0: never stop */
  int epochs_seen;
  int last_epoch, last_epochs;
  double *snapshot[64];      /* weights at the end of each epoch */
} Recorder;

static int record_should_stop(void *context) {
  Recorder *r = context;
  r->calls++;
  return r->stop_at_call > 0 && r->calls >= r->stop_at_call;
}

static void record_epoch(void *context, int epoch, int epochs,
                         const EpochStats *stats) {
  Recorder *r = context;
  (void)stats;
  r->epochs_seen++;
  r->last_epoch = epoch;
  r->last_epochs = epochs;
  if (epoch < 1 || epoch > 64) return;
  size_t bytes = r->net->n_params * sizeof(double);
  free(r->snapshot[epoch - 1]);
  r->snapshot[epoch - 1] = malloc(bytes);
  if (r->snapshot[epoch - 1])
    memcpy(r->snapshot[epoch - 1], r->net->params, bytes);
}

static void recorder_free(Recorder *r) {
  for (int i = 0; i < 64; i++) free(r->snapshot[i]);
}

/* ---- Training ---------------------------------------------------------- */

static void test_evaluate_logits(void) {
  float label[4] = {1, 0, 1, 0};
  Dataset data;
  memset(&data, 0, sizeof(data));
  data.n = 4;
  data.label = label;
  double z[4] = {2.0, -1.0, 0.0, 0.5};
  double loss, accuracy;
  evaluate_logits(z, &data, &loss, &accuracy);
  /* A logit of exactly 0 predicts an opinion, as claim_predict() does:
  ** the probability of claim, 0.5, is not above the threshold. */
  CHECK_DOUBLE(accuracy, 0.75);
  CHECK_INT(predicts_opinion(0.0), 1);
  CHECK_INT(predicts_opinion(-1e-17), 1);
  CHECK_INT(predicts_opinion(-1e-3), 0);
  double expected = (bce_logit_loss(2.0, 1) + bce_logit_loss(-1.0, 0) +
                     bce_logit_loss(0.0, 1) + bce_logit_loss(0.5, 0)) / 4;
  CHECK_NEAR(loss, expected, 1e-15);
  CHECK_NEAR(loss, 0.52685346582531183, 1e-15);

  data.n = 0;
  evaluate_logits(z, &data, &loss, &accuracy);
  CHECK_DOUBLE(loss, 0.0);
  CHECK_DOUBLE(accuracy, 0.0);
}

static void check_reaches_high_accuracy(int sparse_text) {
  TrainConfig config = test_config();
  Fixture f;
  EpochStats history[20];
  int epochs_run = -1, best_epoch = -1;
  if (!CHECK(fixture_init(&f, &config, sparse_text) == 0)) goto done;

  int rc = train_network(&f.net, &f.train, &f.val, &config, NULL, history,
                         &epochs_run, &best_epoch);
  CHECK_INT(rc, TRAIN_OK);
  CHECK_INT(epochs_run, 20);
  CHECK(best_epoch >= 1);
  CHECK(best_epoch <= 20);
  if (best_epoch < 1 || best_epoch > 20) goto done;
  CHECK(history[best_epoch - 1].val_accuracy >= 0.95);
  CHECK(history[epochs_run - 1].accuracy >= 0.9);
  CHECK(history[epochs_run - 1].loss < history[0].loss);

  /* The restored weights give the best epoch's validation metrics. */
  double z[128], loss, accuracy;
  if (!CHECK(network_predict(&f.net, &f.val, z) == 0)) goto done;
  evaluate_logits(z, &f.val, &loss, &accuracy);
  CHECK_DOUBLE(accuracy, history[best_epoch - 1].val_accuracy);
  CHECK_DOUBLE(loss, history[best_epoch - 1].val_loss);

done:
  fixture_free(&f);
}

static void test_train_reaches_high_accuracy(void) {
  check_reaches_high_accuracy(0);
}

static void test_train_sparse_text_reaches_high_accuracy(void) {
  check_reaches_high_accuracy(1);
}

/* Trains from scratch with config; returns a copy of the final weights. */
static double *train_copy(const TrainConfig *config, EpochStats *history,
                          size_t *n_params) {
  Fixture f;
  double *copy = NULL;
  int epochs_run, best_epoch;
  if (fixture_init(&f, config, 1) == 0 &&
      train_network(&f.net, &f.train, &f.val, config, NULL, history,
                    &epochs_run, &best_epoch) == TRAIN_OK) {
    *n_params = f.net.n_params;
    copy = malloc(f.net.n_params * sizeof(double));
    if (copy) memcpy(copy, f.net.params, f.net.n_params * sizeof(double));
  }
  fixture_free(&f);
  return copy;
}

static void test_train_same_seed_same_weights(void) {
  TrainConfig config = test_config();
  config.epochs = 5;
  EpochStats first[5], second[5], other[5];
  size_t n = 0, n2 = 0, n3 = 0;
  double *a = train_copy(&config, first, &n);
  double *b = train_copy(&config, second, &n2);
  config.seed = 43;
  double *c = train_copy(&config, other, &n3);
  int ready = CHECK(a != NULL);
  ready &= CHECK(b != NULL);
  ready &= CHECK(c != NULL);
  if (!ready) goto done;

  CHECK_INT(n2, n);
  CHECK(memcmp(a, b, n * sizeof(double)) == 0);
  for (int e = 0; e < 5; e++) {
    CHECK_DOUBLE(second[e].loss, first[e].loss);
    CHECK_DOUBLE(second[e].accuracy, first[e].accuracy);
    CHECK_DOUBLE(second[e].val_loss, first[e].val_loss);
    CHECK_DOUBLE(second[e].val_accuracy, first[e].val_accuracy);
  }
  /* Another seed gives other weights. */
  CHECK(memcmp(a, c, n * sizeof(double)) != 0);

done:
  free(a);
  free(b);
  free(c);
}

static void check_best_epoch(int monitor) {
  TrainConfig config = test_config();
  config.monitor = monitor;
  Fixture f;
  Recorder recorder;
  memset(&recorder, 0, sizeof(recorder));
  EpochStats history[20];
  int epochs_run, best_epoch;
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;
  recorder.net = &f.net;
  TrainHooks hooks = {NULL, record_epoch, &recorder};

  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, &hooks, history,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK_INT(epochs_run, 20);
  CHECK_INT(recorder.epochs_seen, 20);
  CHECK_INT(recorder.last_epoch, 20);
  CHECK_INT(recorder.last_epochs, 20);

  /* The best epoch is the first with the best monitored metric. */
  int expected = 1;
  for (int e = 2; e <= epochs_run; e++) {
    const EpochStats *s = &history[e - 1], *b = &history[expected - 1];
    if (monitor == MONITOR_VAL_LOSS ? s->val_loss < b->val_loss
                                    : s->val_accuracy > b->val_accuracy)
      expected = e;
  }
  CHECK_INT(best_epoch, expected);

  /* For accuracy, the run must contain a tie with the best epoch, or the
  ** check above would not test the tie rule. */
  if (monitor == MONITOR_VAL_ACCURACY) {
    int ties = 0;
    for (int e = expected + 1; e <= epochs_run; e++)
      ties += history[e - 1].val_accuracy ==
              history[expected - 1].val_accuracy;
    CHECK(ties > 0);
  }

  /* The final weights are those at the end of the best epoch. */
  if (!CHECK(recorder.snapshot[best_epoch - 1] != NULL)) goto done;
  CHECK(memcmp(f.net.params, recorder.snapshot[best_epoch - 1],
               f.net.n_params * sizeof(double)) == 0);
  if (best_epoch != epochs_run)
    CHECK(memcmp(f.net.params, recorder.snapshot[epochs_run - 1],
                 f.net.n_params * sizeof(double)) != 0);

done:
  recorder_free(&recorder);
  fixture_free(&f);
}

static void test_best_epoch_first_on_accuracy_ties(void) {
  check_best_epoch(MONITOR_VAL_ACCURACY);
}

static void test_best_epoch_lowest_val_loss(void) {
  check_best_epoch(MONITOR_VAL_LOSS);
}

static void test_best_epoch_all_tied(void) {
  /* A learning rate of 0 leaves the weights as they are, so every epoch
  ** ties and the first one is the best. */
  TrainConfig config = test_config();
  config.adam.learning_rate = 0.0;
  config.epochs = 4;
  Fixture f;
  EpochStats history[4];
  int epochs_run, best_epoch;
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, NULL, history,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK_INT(epochs_run, 4);
  CHECK_INT(best_epoch, 1);
  for (int e = 1; e < 4; e++)
    CHECK_DOUBLE(history[e].val_accuracy, history[0].val_accuracy);

  /* The training metrics are the means over the epoch's batches, which for
  ** unchanged weights are the metrics of the whole training set. */
  double *z = malloc(256 * sizeof(double));
  if (!CHECK(z != NULL)) goto done;
  double loss, accuracy;
  CHECK_INT(network_predict(&f.net, &f.train, z), 0);
  evaluate_logits(z, &f.train, &loss, &accuracy);
  CHECK_NEAR(history[0].loss, loss, 1e-12);
  CHECK_DOUBLE(history[0].accuracy, accuracy);
  free(z);

done:
  fixture_free(&f);
}

static void test_patience_stops_early(void) {
  TrainConfig config = test_config();
  config.adam.learning_rate = 0.0;
  config.epochs = 10;
  config.patience = 2;
  Fixture f;
  EpochStats history[10];
  int epochs_run, best_epoch;
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;

  /* Epochs 2 and 3 are not better than epoch 1: stop after epoch 3. */
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, NULL, history,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK_INT(epochs_run, 3);
  CHECK_INT(best_epoch, 1);

  /* While learning, a stop comes exactly `patience` epochs after the best
  ** one, and none of those epochs was better. */
  fixture_free(&f);
  config = test_config();
  config.epochs = 40;
  config.patience = 1;
  EpochStats learning[40];
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, NULL, learning,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK(epochs_run < 40);
  CHECK_INT(epochs_run - best_epoch, 1);
  CHECK(learning[epochs_run - 1].val_accuracy <=
        learning[best_epoch - 1].val_accuracy);

done:
  fixture_free(&f);
}

static void test_should_stop_hook(void) {
  TrainConfig config = test_config();
  config.epochs = 3;
  Fixture f;
  Recorder recorder;
  memset(&recorder, 0, sizeof(recorder));
  EpochStats history[3];
  int epochs_run = -1, best_epoch = -1;
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;
  recorder.net = &f.net;
  TrainHooks hooks = {record_should_stop, record_epoch, &recorder};

  /* Asked before the first batch: nothing runs. */
  recorder.stop_at_call = 1;
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, &hooks, history,
                          &epochs_run, &best_epoch), TRAIN_STOPPED);
  CHECK_INT(recorder.calls, 1);
  CHECK_INT(epochs_run, 0);
  CHECK_INT(recorder.epochs_seen, 0);

  /* 256 rows in batches of 16 make 16 batches an epoch, each preceded by
  ** one call; the 20th call comes in the second epoch. */
  recorder.calls = 0;
  recorder.stop_at_call = 20;
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, &hooks, history,
                          &epochs_run, &best_epoch), TRAIN_STOPPED);
  CHECK_INT(recorder.calls, 20);
  CHECK_INT(epochs_run, 1);
  CHECK_INT(best_epoch, 1);
  CHECK_INT(recorder.epochs_seen, 1);

  /* A hook that never stops is called once per batch. */
  recorder.calls = 0;
  recorder.stop_at_call = 0;
  recorder.epochs_seen = 0;
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, &hooks, history,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK_INT(recorder.calls, 3 * 16);
  CHECK_INT(recorder.epochs_seen, 3);

done:
  recorder_free(&recorder);
  fixture_free(&f);
}

static void test_batch_larger_than_dataset(void) {
  TrainConfig config = test_config();
  config.epochs = 2;
  config.batch_size = 1000;
  Fixture f;
  Recorder recorder;
  memset(&recorder, 0, sizeof(recorder));
  EpochStats history[2];
  int epochs_run, best_epoch;
  if (!CHECK(fixture_init(&f, &config, 1) == 0)) goto done;
  recorder.net = &f.net;
  TrainHooks hooks = {record_should_stop, NULL, &recorder};
  CHECK_INT(train_network(&f.net, &f.train, &f.val, &config, &hooks, history,
                          &epochs_run, &best_epoch), TRAIN_OK);
  CHECK_INT(epochs_run, 2);
  CHECK_INT(recorder.calls, 2);     /* one batch of 256 an epoch */

done:
  fixture_free(&f);
}

int main(void) {
  RUN(test_rng_known_sequence);
  RUN(test_rng_below_and_shuffle);
  RUN(test_evaluate_logits);
  RUN(test_train_reaches_high_accuracy);
  RUN(test_train_sparse_text_reaches_high_accuracy);
  RUN(test_train_same_seed_same_weights);
  RUN(test_best_epoch_first_on_accuracy_ties);
  RUN(test_best_epoch_lowest_val_loss);
  RUN(test_best_epoch_all_tied);
  RUN(test_patience_stops_early);
  RUN(test_should_stop_hook);
  RUN(test_batch_larger_than_dataset);
  return unit_summary();
}
