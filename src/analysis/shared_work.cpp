#include "rgflow/analysis/shared_work.hpp"

#include <memory>

namespace rgflow::analysis {

GeneralisationTable generalisation_over_ranks(const Comm& world, PhaseTimes& times,
                                              const PassModels& pass_models,
                                              const GeneralisationPlan& plan, TileSums& sums,
                                              const std::vector<std::string>& model_names,
                                              const PassSource& data,
                                              const std::vector<PassSource>& test_sets) {
  times.run(world, "analyze: generalisation", [&] {
    for (size_t e = 0; e < test_sets.size(); ++e) {
      test_set_pass(test_sets[e], static_cast<int>(e) + 1, pass_models, plan, sums, world.rank(),
                    world.size());
    }
  });
  world.sum(sums.buffer());
  return generalisation_table(plan, sums, model_names, data, test_sets);
}

std::vector<LearnedFlow> learned_flows(const Comm& world, PhaseTimes& times,
                                       const PassModels& pass_models,
                                       const std::vector<PassModels::Source>& models,
                                       const lattice::Geometry& data, double scaling_dimension,
                                       const std::function<double(int)>& level0_exact,
                                       int64_t groups, const std::vector<double>& exact_spins) {
  for (size_t m = 0; m < models.size(); ++m) {
    if (pass_models.flow_table(m)) world.sum(pass_models.flow_table(m)->buffer());
    if (pass_models.spin_table(m)) world.sum(pass_models.spin_table(m)->buffer());
  }
  std::vector<LearnedFlow> flows;
  times.run(world, "analyze: flows", [&] {
    for (size_t m = 0; m < models.size(); ++m) {
      flows.push_back(learned_flow(pass_models.flow_table(m), models[m].level_input, data,
                                   scaling_dimension, level0_exact));
      if (const auto* spins = pass_models.spin_table(m)) {
        // Exact values apply to the flow's row 0 when it is the data's level 0.
        flows.back().spins =
            spins->flow(groups, models[m].level_input == 0 ? exact_spins : std::vector<double>{});
      }
    }
  });
  return flows;
}

std::vector<PropagationReport> propagate_models(const Comm& world, PhaseTimes& times,
                                                const std::vector<PassModels::Source>& models,
                                                const PropagationData& data,
                                                const PropagationOptions& options, int64_t groups,
                                                const SlabReader<double>& read) {
  // Plans, then the predictions of every (model, mode), each made by one rank and handed to the
  // others bit for bit.
  std::vector<std::unique_ptr<ModelPropagation>> runs;
  std::vector<PredictionTask> tasks;
  times.run(world, "analyze: propagation", [&] {
    for (const auto& model : models) {
      runs.push_back(std::make_unique<ModelPropagation>(*model.network, model.level_input, data,
                                                        options, groups));
    }
    tasks = share_predictions(runs, world.size());
    for (const auto& task : tasks) {
      if (task.owner == world.rank()) runs[task.model]->predict(task.mode);
    }
  });
  for (const auto& task : tasks) {
    const bool mine = world.rank() == task.owner;
    const std::string bytes =
        world.broadcast(mine ? runs[task.model]->prediction_bytes(task.mode) : "", task.owner);
    if (!mine) runs[task.model]->set_prediction(task.mode, bytes);
  }
  times.run(world, "analyze: propagation", [&] {
    for (auto& run : runs) run->prepare_monte_carlo();
  });
  // Every model's Monte Carlo groups at once, (model, group) units dealt out over the ranks in
  // turn, so that more ranks than groups all work when there are several models.
  times.run(world, "analyze: monte carlo", [&] {
    int64_t first_owner = 0;
    for (size_t m = 0; m < models.size(); ++m) {
      if (runs[m]->skipped()) continue;
      const int level = models[m].level_input;
      runs[m]->fill_owned_groups(
          world.rank(), world.size(),
          [&](int64_t sample, int64_t first_row, int64_t rows, std::vector<double>& field) {
            read(level, sample, {first_row, first_row + rows}, field);
          },
          first_owner);
      first_owner = (first_owner + groups) % world.size();
    }
  });
  std::vector<PropagationReport> reports;
  for (size_t m = 0; m < models.size(); ++m) {
    if (!runs[m]->skipped()) world.sum(runs[m]->buffer());
    times.run(world, "analyze: mc estimates", [&] { reports.push_back(runs[m]->finish()); });
  }
  return reports;
}

std::vector<SymmetryReport> measure_symmetry(const Comm& world, PhaseTimes& times,
                                             const std::vector<PassModels::Source>& models,
                                             const PassSource& data, uint64_t seed) {
  std::vector<size_t> hidden_layers;
  for (const auto& m : models) hidden_layers.push_back(m.network->spec().hidden.size());
  SymmetrySums sums(hidden_layers);
  times.run(world, "analyze: symmetry", [&] {
    nn::Matrix<double> blocks;
    for (size_t k = static_cast<size_t>(world.rank()); k < models.size();
         k += static_cast<size_t>(world.size())) {
      if (blocks.size() == 0) {
        blocks = first_blocks(data.geometry, data.samples, kSymmetryBlocks, data.read_double);
      }
      sums.set(k, symmetry_report(*models[k].network, blocks, seed));
    }
  });
  world.sum(sums.buffer());
  std::vector<SymmetryReport> reports;
  for (size_t k = 0; k < models.size(); ++k) {
    reports.push_back(sums.report(k, models[k].network->spec().kind == nn::ModelKind::kGnn));
  }
  return reports;
}

}  // namespace rgflow::analysis
