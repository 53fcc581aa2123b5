/**
 * Every message component the bot posts (buttons, modals), grouped by what they do. A component
 * module exports `parse(customId)`, which recognises its own custom_ids (customIds.ts) and
 * returns a typed action or null, and `run(interaction, action, ctx)`.
 * events/interactionCreate.ts tries each component of the interaction's kind in turn.
 */
import type { ButtonInteraction, ModalSubmitInteraction } from 'discord.js';
import type { HandlerContext } from '../context.js';
import * as caseRating from './caseRating.js';
import * as comment from './comment.js';
import * as everywhere from './everywhere.js';
import * as followUp from './followUp.js';
import * as escalate from './escalate.js';
import * as vote from './vote.js';

export interface Component<I, A> {
  parse(customId: string): A | null;
  run(interaction: I, action: A, ctx: HandlerContext): Promise<void>;
}

/** A component's `run` for this interaction, or null when the custom_id is not the component's. */
export type ComponentRoute<I> = (interaction: I, ctx: HandlerContext) => Promise<void> | null;

function route<I extends { customId: string }, A>(component: Component<I, A>): ComponentRoute<I> {
  return (interaction, ctx) => {
    const action = component.parse(interaction.customId);
    return action === null ? null : component.run(interaction, action, ctx);
  };
}

/** Components that are buttons. */
export const buttons: readonly ComponentRoute<ButtonInteraction>[] = [route(vote), route(comment), route(followUp), route(everywhere), route(escalate), route(caseRating)];

/** Components that are modals (submitted). */
export const modals: readonly ComponentRoute<ModalSubmitInteraction>[] = [route(comment), route(followUp), route(escalate)];
