/*
** The Adam optimizer, in the form Keras implements it:
**   m = beta1 m + (1 - beta1) g
**   v = beta2 v + (1 - beta2) g^2
**   w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)
** where t counts steps from 1. Epsilon is added to the square root of the
** uncorrected v, which is what Keras does and differs slightly from the
** Adam paper's placement.
** Plain C with no SQLite calls.
*/
#ifndef CLAIM_ADAM_H
#define CLAIM_ADAM_H

#include <stddef.h>

typedef struct AdamConfig {
  double learning_rate;
  double beta1;
  double beta2;
  double epsilon;
} AdamConfig;

/* Keras defaults: learning rate 0.001, beta1 0.9, beta2 0.999, eps 1e-7. */
AdamConfig adam_default(void);

/* The step size of step t (from 1): lr sqrt(1 - beta2^t) / (1 - beta1^t). */
double adam_step_size(const AdamConfig *config, long step);

/*
** Updates n weights w from gradients g with moments m and v, then zeroes
** g, so the next batch starts from empty gradients.
*/
void adam_update(double *w, double *g, double *m, double *v, size_t n,
                 const AdamConfig *config, double step_size);

#endif
