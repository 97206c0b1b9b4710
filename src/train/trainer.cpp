#include "rgflow/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>

#include "rgflow/core/progress.hpp"
#include "rgflow/nn/metrics.hpp"

namespace rgflow::train {
namespace {

template <typename Scalar>
MPI_Datatype mpi_type() {
  return std::is_same_v<Scalar, float> ? MPI_FLOAT : MPI_DOUBLE;
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / double(values.size());
}

}  // namespace

template <typename Scalar>
PairSource<Scalar>::PairSource(std::shared_ptr<const PairSet<Scalar>> all, int64_t pairs_per_sample)
    : current_(std::move(all)), current_window_(0) {
  total_ = current_->total;
  window_begins_ = {0, total_};
  group_pairs_ = {static_cast<uint64_t>(pairs_per_sample)};
}

template <typename Scalar>
PairSource<Scalar>::PairSource(std::vector<uint64_t> window_begins,
                               std::vector<uint64_t> group_pairs, Loader loader)
    : window_begins_(std::move(window_begins)),
      group_pairs_(std::move(group_pairs)),
      loader_(std::move(loader)) {
  total_ = window_begins_.back();
}

template <typename Scalar>
uint64_t PairSource<Scalar>::window_size(int64_t w) const {
  return window_begins_[static_cast<size_t>(w) + 1] - window_begins_[static_cast<size_t>(w)];
}

template <typename Scalar>
const PairSet<Scalar>& PairSource<Scalar>::window(int64_t w) {
  if (w != current_window_ || !current_) {
    current_.reset();  // free the old window before reading the next
    const double start = wall_seconds();
    current_ = std::make_shared<const PairSet<Scalar>>(loader_(w));
    current_window_ = w;
    load_seconds_ += wall_seconds() - start;
    ++loads_;
  }
  return *current_;
}

template <typename Scalar>
void PairSource<Scalar>::release() {
  if (streamed()) {
    current_.reset();
    current_window_ = -1;
  }
}

template <typename Scalar>
Trainer<Scalar>::Trainer(const Comm& world, const TrainSettings& settings,
                         nn::SymmetricModel<Scalar>& model, nn::Optimizer<Scalar>& optimizer,
                         PairSource<Scalar>& train, PairSource<Scalar>& validation)
    : world_(world),
      settings_(settings),
      model_(model),
      optimizer_(optimizer),
      train_(train),
      validation_(validation) {}

template <typename Scalar>
int64_t Trainer<Scalar>::steps_per_epoch() const {
  // Batches do not cross windows: a window's last pairs that do not fill a batch wait for the
  // next epoch's order (as the last pairs of an in-memory epoch do).
  int64_t steps = 0;
  for (int64_t w = 0; w < train_.windows(); ++w) {
    steps += static_cast<int64_t>(train_.window_size(w)) / settings_.batch;
  }
  return steps;
}

template <typename Scalar>
void Trainer<Scalar>::plan_epoch(int64_t epoch) {
  if (planned_epoch_ == epoch) return;
  const int64_t windows = train_.windows();
  window_order_.resize(static_cast<size_t>(windows));
  if (windows == 1) {
    window_order_[0] = 0;
  } else {
    const auto order = epoch_order(static_cast<uint64_t>(windows),
                                   settings_.seed ^ 0x57494E444F575321ull,  // "WINDOWS!"
                                   static_cast<uint64_t>(epoch));
    std::copy(order.begin(), order.end(), window_order_.begin());
  }
  window_start_.assign(1, 0);
  for (int64_t w : window_order_) {
    window_start_.push_back(window_start_.back() +
                            static_cast<int64_t>(train_.window_size(w)) / settings_.batch);
  }
  planned_epoch_ = epoch;
  order_window_ = -1;
}

template <typename Scalar>
int64_t Trainer<Scalar>::total_steps() const {
  return settings_.steps > 0 ? settings_.steps : settings_.epochs * steps_per_epoch();
}

template <typename Scalar>
double Trainer<Scalar>::validation_loss() {
  // Squared errors are summed per group (a sample, or a row of blocks of a tile), each group on
  // the one rank that holds it; the reduction adds only zeros to each entry, so the group sums,
  // and their sum in window and group order, are the same for any rank count.
  double total = 0;
  std::vector<double> sums;
  // One window's pairs at a time (DataPlan): a streamed training window is read again after.
  train_.release();
  for (int64_t w = 0; w < validation_.windows(); ++w) {
    const PairSet<Scalar>& set = validation_.window(w);
    const uint64_t base = validation_.window_begin(w), per_group = validation_.group_pairs(w);
    sums.assign(static_cast<size_t>((validation_.window_size(w) + per_group - 1) / per_group), 0.0);
    const Eigen::Index count = set.x.cols();
    const Eigen::Index chunk = 4096;
    for (Eigen::Index begin = 0; begin < count; begin += chunk) {
      const Eigen::Index width = std::min(chunk, count - begin);
      const nn::Matrix<Scalar> x = set.x.middleCols(begin, width);
      const nn::Matrix<Scalar> f = model_.predict(x);
      for (Eigen::Index c = 0; c < width; ++c) {
        const double residual = double(f(0, c)) - double(set.y(0, begin + c));
        const uint64_t pair = set.first + static_cast<uint64_t>(begin + c);
        sums[(pair - base) / per_group] += residual * residual;
      }
    }
    RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE,
                             MPI_SUM, world_.get()));
    for (double s : sums) total += s;
  }
  validation_.release();  // nor a validation window beside the next training window
  return validation_.total() ? total / double(validation_.total()) : 0.0;
}

template <typename Scalar>
StepOutcome Trainer<Scalar>::step(TrainState<Scalar>& state) {
  plan_epoch(state.epoch);
  const int64_t batch = settings_.batch;
  const size_t position = static_cast<size_t>(
      std::upper_bound(window_start_.begin(), window_start_.end(), state.step_in_epoch) -
      window_start_.begin() - 1);
  const int64_t window = window_order_[position];
  if (order_window_ != window) {
    // One window: the order of the whole split, as without streaming.
    const uint64_t seed = train_.windows() == 1
                              ? settings_.seed
                              : settings_.seed ^ (0x9E3779B97F4A7C15ull * uint64_t(window + 1));
    std::vector<uint32_t>().swap(order_);  // not two orders at once
    order_ = epoch_order(train_.window_size(window), seed, static_cast<uint64_t>(state.epoch));
    order_window_ = window;
  }
  const PairSet<Scalar>& set = train_.window(window);
  const uint64_t base = train_.window_begin(window);
  std::vector<uint64_t> batch_ids(static_cast<size_t>(batch));
  const uint32_t* offsets = order_.data() + (state.step_in_epoch - window_start_[position]) * batch;
  for (int64_t k = 0; k < batch; ++k) batch_ids[static_cast<size_t>(k)] = base + offsets[k];
  const uint64_t* ids = batch_ids.data();
  // Reproducible sums go per group of the window (whole samples, or rows of blocks of a tile):
  // a group lies on one rank, so its gradient does not depend on the rank count.
  const uint64_t per_group = train_.group_pairs(window);
  auto group_of_pair = [base, per_group](uint64_t id) { return (id - base) / per_group; };
  const uint64_t local_end = set.first + static_cast<uint64_t>(set.x.cols());
  const Eigen::Index parameters = model_.network().parameter_count();
  const size_t width = static_cast<size_t>(parameters) + 2;  // gradient, mse, penalty

  // The batch's pairs held here, in batch order, grouped by sample when reproducible.
  std::vector<int64_t> mine;
  for (int64_t k = 0; k < batch; ++k) {
    if (ids[k] >= set.first && ids[k] < local_end) mine.push_back(k);
  }
  std::vector<uint64_t> batch_groups;
  if (settings_.reproducible) {
    for (int64_t k = 0; k < batch; ++k) batch_groups.push_back(group_of_pair(ids[k]));
    std::sort(batch_groups.begin(), batch_groups.end());
    batch_groups.erase(std::unique(batch_groups.begin(), batch_groups.end()), batch_groups.end());
    std::stable_sort(mine.begin(), mine.end(), [&](int64_t a, int64_t b) {
      return group_of_pair(ids[a]) < group_of_pair(ids[b]);
    });
  }
  const size_t groups = settings_.reproducible ? batch_groups.size() : 1;
  reduction_.assign(groups * width, Scalar(0));

  size_t begin = 0;
  while (begin < mine.size()) {
    size_t end = begin + 1;
    size_t row = 0;
    if (settings_.reproducible) {
      const uint64_t group = group_of_pair(ids[mine[begin]]);
      while (end < mine.size() && group_of_pair(ids[mine[end]]) == group) ++end;
      row = static_cast<size_t>(std::lower_bound(batch_groups.begin(), batch_groups.end(), group) -
                                batch_groups.begin());
    } else {
      end = mine.size();
    }
    const Eigen::Index count = static_cast<Eigen::Index>(end - begin);
    nn::Matrix<Scalar> x(set.x.rows(), count), y(1, count);
    std::vector<uint64_t> pair_ids(static_cast<size_t>(count));
    for (Eigen::Index c = 0; c < count; ++c) {
      const uint64_t id = ids[mine[begin + static_cast<size_t>(c)]];
      const Eigen::Index column = static_cast<Eigen::Index>(id - set.first);
      x.col(c) = set.x.col(column);
      y(0, c) = set.y(0, column);
      pair_ids[static_cast<size_t>(c)] = id;
    }
    Scalar* target = reduction_.data() + row * width;
    const auto loss = model_.loss_and_gradient(x, y, pair_ids, static_cast<uint64_t>(state.epoch),
                                               settings_.penalty, double(batch), target);
    target[parameters] = Scalar(loss.mse);
    target[parameters + 1] = Scalar(loss.penalty);
    begin = end;
  }
  const double reduce_start = wall_seconds();
  RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, reduction_.data(), static_cast<int>(reduction_.size()),
                           mpi_type<Scalar>(), MPI_SUM, world_.get()));
  reduce_seconds_ += wall_seconds() - reduce_start;
  // Groups in pair order (reproducible) or the one already-summed group.
  gradient_.assign(width, Scalar(0));
  for (size_t g = 0; g < groups; ++g) {
    const Scalar* row = reduction_.data() + g * width;
    for (size_t i = 0; i < width; ++i) gradient_[i] += row[i];
  }
  const double mse = double(gradient_[static_cast<size_t>(parameters)]);
  const double penalty = double(gradient_[static_cast<size_t>(parameters) + 1]);
  if (!std::isfinite(mse) || !std::isfinite(penalty)) return StepOutcome::kDiverged;

  const double rate = settings_.schedule.at(state.global_step, total_steps(), state.epoch);
  optimizer_.step(model_.network().parameters(), gradient_.data(), rate);
  state.epoch_loss += mse;
  state.epoch_penalty += penalty;
  ++state.global_step;
  ++state.step_in_epoch;
  if (state.step_in_epoch == steps_per_epoch()) end_epoch(state);
  return StepOutcome::kContinue;
}

template <typename Scalar>
void Trainer<Scalar>::end_epoch(TrainState<Scalar>& state) {
  const double steps = double(std::max<int64_t>(state.step_in_epoch, 1));
  const double val = validation_loss();
  History& h = state.history;
  h.epoch.push_back(double(state.epoch) + double(state.step_in_epoch) / double(steps_per_epoch()));
  h.step.push_back(double(state.global_step));
  h.train_loss.push_back(state.epoch_loss / steps);
  h.penalty.push_back(state.epoch_penalty / steps);
  h.val_loss.push_back(val);
  h.learning_rate.push_back(settings_.schedule.at(std::max<int64_t>(state.global_step - 1, 0),
                                                  total_steps(), state.epoch));
  h.order_parameter.push_back(nn::unit_order_parameter(model_.network()));
  if (val < state.best_val) {
    state.best_val = val;
    state.epochs_since_best = 0;
    const Scalar* p = model_.network().parameters();
    state.best_parameters.assign(p, p + model_.network().parameter_count());
  } else {
    ++state.epochs_since_best;
  }
  if (settings_.progress && world_.rank() == 0) {
    if (progress_ != nullptr) progress_->finish();
    std::printf("epoch %6.2f  step %8lld  train %.4e  val %.4e  penalty %.3e  lr %.3e  D %.3g\n",
                h.epoch.back(), static_cast<long long>(state.global_step), h.train_loss.back(), val,
                h.penalty.back(), h.learning_rate.back(), mean(h.order_parameter.back()));
    std::fflush(stdout);
  }
  ++state.epoch;
  state.step_in_epoch = 0;
  state.epoch_loss = state.epoch_penalty = 0;
  if (settings_.patience > 0 && state.epochs_since_best >= settings_.patience) {
    state.finished = true;
    state.stop_reason = "early stopping: no better validation loss for " +
                        std::to_string(settings_.patience) + " epochs";
  }
}

template <typename Scalar>
StepOutcome Trainer<Scalar>::run(TrainState<Scalar>& state, int64_t stop_after_steps,
                                 const std::function<void(const TrainState<Scalar>&)>& checkpoint) {
  // Counted in samples (pairs), so the rate compares with the closing line and benchmarks.
  const double batch = double(settings_.batch);
  Progress progress("train", double(total_steps()) * batch, "samples",
                    settings_.progress && world_.rank() == 0);
  progress_ = &progress;
  struct Forget {
    Progress*& pointer;
    ~Forget() { pointer = nullptr; }
  } forget{progress_};
  while (!state.finished) {
    if (state.global_step >= total_steps()) {
      if (state.step_in_epoch > 0) end_epoch(state);  // record the partial epoch
      state.finished = true;
      if (state.stop_reason.empty()) state.stop_reason = "done";
      break;
    }
    if (step(state) == StepOutcome::kDiverged) {
      progress.finish();
      return StepOutcome::kDiverged;
    }
    if (progress.due()) {
      char note[128];
      const auto& h = state.history;
      std::snprintf(note, sizeof note, "epoch %lld  step %lld  train %.3e  val %.3e",
                    static_cast<long long>(state.epoch + 1),
                    static_cast<long long>(state.global_step),
                    state.epoch_loss / double(std::max<int64_t>(state.step_in_epoch, 1)),
                    h.val_loss.empty() ? NAN : h.val_loss.back());
      progress.update(double(state.global_step) * batch, note);
    } else {
      progress.update(double(state.global_step) * batch);  // sets the rate's starting point
    }
    if (settings_.checkpoint_every > 0 && state.global_step % settings_.checkpoint_every == 0) {
      checkpoint(state);
    }
    if (stop_after_steps > 0 && state.global_step >= stop_after_steps) {
      progress.finish();
      return StepOutcome::kContinue;
    }
  }
  progress.finish();
  // With early stopping, the model that is kept is the best one seen, not the last.
  if (settings_.patience > 0 && !state.best_parameters.empty()) {
    std::copy(state.best_parameters.begin(), state.best_parameters.end(),
              model_.network().parameters());
  }
  return StepOutcome::kFinished;
}

template class PairSource<float>;
template class PairSource<double>;
template class Trainer<float>;
template class Trainer<double>;

}  // namespace rgflow::train
