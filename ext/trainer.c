/*
** The training loop. See trainer.h.
**
** Training loss and accuracy are reported the way Keras reports them: the
** mean over the epoch's batches of each batch's loss and accuracy, taken
** before that batch's update, weighted by batch size.
*/
#include "trainer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

void evaluate_logits(const double *z, const Dataset *data, double *loss,
                     double *accuracy) {
  double total = 0.0;
  int correct = 0;
  for (int i = 0; i < data->n; i++) {
    double y = data->label[i];
    total += bce_logit_loss(z[i], y);
    if (predicts_opinion(z[i]) == (y > 0.5)) correct++;
  }
  *loss = data->n ? total / data->n : 0.0;
  *accuracy = data->n ? (double)correct / data->n : 0.0;
}

static int is_better(const TrainConfig *config, const EpochStats *candidate,
                     const EpochStats *best) {
  if (config->monitor == MONITOR_VAL_LOSS)
    return candidate->val_loss < best->val_loss;
  return candidate->val_accuracy > best->val_accuracy;
}

int train_network(Network *net, const Dataset *train, const Dataset *val,
                  const TrainConfig *config, const TrainHooks *hooks,
                  EpochStats *history, int *epochs_run, int *best_epoch) {
  int rc = TRAIN_NOMEM;
  int batch_size = config->batch_size;
  if (batch_size > train->n) batch_size = train->n;
  Workspace ws;
  int have_ws = 0;
  double *m = calloc(net->n_params, sizeof(double));
  double *v = calloc(net->n_params, sizeof(double));
  double *best = malloc(net->n_params * sizeof(double));
  double *val_z = malloc((size_t)(val->n ? val->n : 1) * sizeof(double));
  int *order = malloc((size_t)train->n * sizeof(int));
  if (!m || !v || !best || !val_z || !order) goto done;
  if (workspace_init(&ws, net, batch_size)) goto done;
  have_ws = 1;
  if (config->class_weight[0] > 0 || config->class_weight[1] > 0) {
    ws.class_weight[0] = config->class_weight[0];
    ws.class_weight[1] = config->class_weight[1];
  }

  Rng shuffler;
  rng_seed(&shuffler, config->seed + 1);
  for (int i = 0; i < train->n; i++) order[i] = i;

  long step = 0;
  int since_best = 0;
  *epochs_run = 0;
  *best_epoch = 0;
  for (int epoch = 1; epoch <= config->epochs; epoch++) {
    double started = now_seconds();
    if (config->shuffle) rng_shuffle(&shuffler, order, train->n);

    double loss_sum = 0.0;
    long correct = 0;
    for (int start = 0; start < train->n; start += batch_size) {
      if (hooks && hooks->should_stop && hooks->should_stop(hooks->context)) {
        rc = TRAIN_STOPPED;
        goto done;
      }
      int n = train->n - start < batch_size ? train->n - start : batch_size;
      if (workspace_gather(&ws, train, order + start, n)) goto done;
      network_forward(net, &ws, n);
      for (int b = 0; b < n; b++)
        if (predicts_opinion(ws.logit[b]) == (ws.batch_label[b] > 0.5f))
          correct++;
      loss_sum += network_backward(net, &ws, n) * n;
      network_adam_step(net, &ws, m, v, &config->adam, ++step);
    }

    EpochStats *stats = &history[epoch - 1];
    stats->loss = loss_sum / train->n;
    stats->accuracy = (double)correct / train->n;
    if (network_predict(net, val, val_z)) goto done;
    evaluate_logits(val_z, val, &stats->val_loss, &stats->val_accuracy);
    stats->seconds = now_seconds() - started;
    *epochs_run = epoch;

    if (*best_epoch == 0 || is_better(config, stats, &history[*best_epoch - 1])) {
      *best_epoch = epoch;
      memcpy(best, net->params, net->n_params * sizeof(double));
      since_best = 0;
    } else {
      since_best++;
    }
    if (hooks && hooks->on_epoch)
      hooks->on_epoch(hooks->context, epoch, config->epochs, stats);
    if (config->patience > 0 && since_best >= config->patience) break;
  }

  memcpy(net->params, best, net->n_params * sizeof(double));
  rc = TRAIN_OK;

done:
  if (have_ws) workspace_free(&ws);
  free(m);
  free(v);
  free(best);
  free(val_z);
  free(order);
  return rc;
}
