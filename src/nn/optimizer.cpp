#include "rgflow/nn/optimizer.hpp"

#include <cmath>
#include <stdexcept>

namespace rgflow::nn {

template <typename Scalar>
Optimizer<Scalar>::Optimizer(const OptimizerSettings& settings, std::size_t parameter_count)
    : settings_(settings), first_(parameter_count, Scalar(0)) {
  if (settings.kind == "adam") {
    second_.assign(parameter_count, Scalar(0));
  } else if (settings.kind != "sgd") {
    throw std::invalid_argument("unknown optimiser '" + settings.kind + "'");
  }
}

template <typename Scalar>
void Optimizer<Scalar>::step(Scalar* parameters, const Scalar* gradient, double learning_rate) {
  ++steps_;
  const std::size_t count = first_.size();
  Scalar* m = first_.data();
  if (settings_.kind == "sgd") {
    const Scalar momentum = Scalar(settings_.momentum), decay = Scalar(settings_.weight_decay);
    const Scalar rate = Scalar(learning_rate);
    for (std::size_t i = 0; i < count; ++i) {
      m[i] = momentum * m[i] + gradient[i] + decay * parameters[i];
      parameters[i] -= rate * m[i];
    }
    return;
  }
  // Adam with bias correction folded into the step size; decoupled weight decay (AdamW).
  const double t = static_cast<double>(steps_);
  const Scalar beta1 = Scalar(settings_.beta1), beta2 = Scalar(settings_.beta2);
  const Scalar step_size = Scalar(learning_rate * std::sqrt(1 - std::pow(settings_.beta2, t)) /
                                  (1 - std::pow(settings_.beta1, t)));
  const Scalar epsilon = Scalar(settings_.epsilon * std::sqrt(1 - std::pow(settings_.beta2, t)));
  const Scalar decay = Scalar(learning_rate * settings_.weight_decay);
  Scalar* v = second_.data();
  for (std::size_t i = 0; i < count; ++i) {
    const Scalar g = gradient[i];
    m[i] = beta1 * m[i] + (Scalar(1) - beta1) * g;
    v[i] = beta2 * v[i] + (Scalar(1) - beta2) * g * g;
    parameters[i] -= step_size * m[i] / (std::sqrt(v[i]) + epsilon) + decay * parameters[i];
  }
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace rgflow::nn
