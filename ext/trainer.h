/*
** The training loop: epochs of mini-batch Adam, validation after each
** epoch, and restore of the best epoch's weights.
** Plain C with no SQLite calls; the caller passes hooks for interruption
** and progress.
*/
#ifndef CLAIM_TRAINER_H
#define CLAIM_TRAINER_H

#include <stdint.h>

#include "adam.h"
#include "network.h"

enum { MONITOR_VAL_ACCURACY, MONITOR_VAL_LOSS };

typedef struct TrainConfig {
  int epochs;
  int batch_size;
  AdamConfig adam;
  uint64_t seed;          /* weights from seed, batch order from seed + 1 */
  int shuffle;            /* 0: rows in source order every epoch */
  int monitor;            /* which validation metric picks the best epoch */
  int patience;           /* stop after this many epochs without a better
                          ** monitored metric; 0 runs every epoch */
  double class_weight[2]; /* training loss weight of claim and opinion rows;
                          ** 0 for both means 1 and 1 */
} TrainConfig;

typedef struct EpochStats {
  double loss, accuracy;          /* running means over the epoch's batches */
  double val_loss, val_accuracy;
  double seconds;
} EpochStats;

typedef struct TrainHooks {
  /* Returns non-zero to stop training at once; called between batches. */
  int (*should_stop)(void *context);
  /* Called after each epoch, epoch counting from 1. */
  void (*on_epoch)(void *context, int epoch, int epochs,
                   const EpochStats *stats);
  void *context;
} TrainHooks;

enum { TRAIN_OK = 0, TRAIN_NOMEM = 1, TRAIN_STOPPED = 2 };

/*
** Trains net, whose weights the caller has initialized, on train and
** validates on val after each epoch. history receives one entry per epoch
** run (at most config->epochs); *epochs_run and *best_epoch (from 1) are
** set. The weights of the best epoch are restored at the end: the highest
** validation accuracy or the lowest validation loss, the first on ties.
** Returns TRAIN_OK, TRAIN_NOMEM or TRAIN_STOPPED.
*/
int train_network(Network *net, const Dataset *train, const Dataset *val,
                  const TrainConfig *config, const TrainHooks *hooks,
                  EpochStats *history, int *epochs_run, int *best_epoch);

/* Mean loss and accuracy (threshold 0.5) of data from its logits z. */
void evaluate_logits(const double *z, const Dataset *data, double *loss,
                     double *accuracy);

#endif
