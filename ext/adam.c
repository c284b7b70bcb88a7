/*
** The Adam optimizer. See adam.h for the update rule.
*/
#include "adam.h"

#include <math.h>

#include "nn.h"

AdamConfig adam_default(void) {
  AdamConfig config = {0.001, 0.9, 0.999, 1e-7};
  return config;
}

double adam_step_size(const AdamConfig *config, long step) {
  double t = (double)step;
  return config->learning_rate * sqrt(1.0 - pow(config->beta2, t)) /
         (1.0 - pow(config->beta1, t));
}

CLAIM_VECTORIZE
void adam_update(double *restrict w, double *restrict g, double *restrict m,
                 double *restrict v, size_t n, const AdamConfig *config,
                 double step_size) {
  double b1 = config->beta1, b2 = config->beta2, eps = config->epsilon;
  for (size_t i = 0; i < n; i++) {
    double gi = g[i];
    m[i] = b1 * m[i] + (1.0 - b1) * gi;
    v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
    w[i] -= step_size * m[i] / (sqrt(v[i]) + eps);
    g[i] = 0.0;
  }
}
