"""Contracts, customer value and tiers, churn statuses, cohort counts, the lost-customer register,
win-back attempts and at-risk scores.

Revision ID: 2e46e38670f7
Revises: 91f15cbb4394
Create Date: 2026-11-23 16:36:17.453310

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2e46e38670f7'
down_revision = '91f15cbb4394'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('churn_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rhythm_multiplier', sa.Float(), nullable=False),
    sa.Column('floor_days', sa.Integer(), nullable=False),
    sa.Column('default_days', sa.Integer(), nullable=False),
    sa.Column('at_risk_share', sa.Float(), nullable=False),
    sa.Column('renewal_grace_days', sa.Integer(), nullable=False),
    sa.Column('renewal_warning_days', sa.Integer(), nullable=False),
    sa.Column('won_back_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recomputed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_churn_settings'))
    )
    op.create_table('cohort_counts',
    sa.Column('cohort', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('cohort', 'month', name=op.f('pk_cohort_counts'))
    )
    op.create_table('risk_model_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('train_rows', sa.Integer(), nullable=False),
    sa.Column('holdout_rows', sa.Integer(), nullable=False),
    sa.Column('holdout_concordance', sa.Float(), nullable=True),
    sa.Column('train_concordance', sa.Float(), nullable=True),
    sa.Column('coefficients', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_model_runs'))
    )
    op.create_table('value_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('discount_rate', sa.Float(), nullable=False),
    sa.Column('horizon_years', sa.Integer(), nullable=False),
    sa.Column('acquisition_cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('default_retention', sa.Float(), nullable=False),
    sa.Column('key_share', sa.Float(), nullable=False),
    sa.Column('general_share', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_value_settings'))
    )
    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('cancelled_on', sa.Date(), nullable=True),
    sa.Column('cancel_reason_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cancel_reason_id'], ['reasons.id'], name=op.f('fk_contracts_cancel_reason_id_reasons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contracts_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('external_id', name=op.f('uq_contracts_external_id'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index('ix_contracts_customer_start', ['customer_id', 'started_on'], unique=False)

    op.create_table('customer_statuses',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'at_risk', 'lost', 'won_back', name='status', native_enum=False, length=20), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('first_purchase_on', sa.Date(), nullable=True),
    sa.Column('last_purchase_on', sa.Date(), nullable=True),
    sa.Column('threshold_days', sa.Integer(), nullable=True),
    sa.Column('lost_on', sa.Date(), nullable=True),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_statuses_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_statuses'))
    )
    with op.batch_alter_table('customer_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_statuses_status'), ['status'], unique=False)

    op.create_table('customer_values',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('annual_margin', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('retention', sa.Float(), nullable=False),
    sa.Column('clv', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('rfm', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_values_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_values'))
    )
    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_values_tier'), ['tier'], unique=False)

    op.create_table('loss_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('lost_on', sa.Date(), nullable=False),
    sa.Column('last_purchase_on', sa.Date(), nullable=True),
    sa.Column('last_value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('clv_lost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('learnt_how', sa.Enum('exit_survey', 'interview', 'staff_judgement', name='learnthow', native_enum=False, length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('won_back_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_loss_records_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_loss_records_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loss_records')),
    sa.UniqueConstraint('customer_id', 'lost_on', name=op.f('uq_loss_records_customer_id'))
    )
    with op.batch_alter_table('loss_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loss_records_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loss_records_lost_on'), ['lost_on'], unique=False)

    op.create_table('risk_scores',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('value_at_risk', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('gap_ratio', sa.Float(), nullable=False),
    sa.Column('spend_trend', sa.Float(), nullable=False),
    sa.Column('drivers', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_risk_scores_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_risk_scores'))
    )
    with op.batch_alter_table('risk_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_scores_value_at_risk'), ['value_at_risk'], unique=False)

    op.create_table('loss_record_reasons',
    sa.Column('loss_record_id', sa.Integer(), nullable=False),
    sa.Column('reason_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['loss_record_id'], ['loss_records.id'], name=op.f('fk_loss_record_reasons_loss_record_id_loss_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reason_id'], ['reasons.id'], name=op.f('fk_loss_record_reasons_reason_id_reasons'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('loss_record_id', 'reason_id', name=op.f('pk_loss_record_reasons'))
    )
    op.create_table('win_back_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loss_record_id', sa.Integer(), nullable=False),
    sa.Column('attempted_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'message', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('outcome', sa.Enum('no_answer', 'declined', 'considering', 'agreed', name='outcome', native_enum=False, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loss_record_id'], ['loss_records.id'], name=op.f('fk_win_back_attempts_loss_record_id_loss_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_win_back_attempts_staff_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_win_back_attempts'))
    )
    with op.batch_alter_table('win_back_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_win_back_attempts_loss_record_id'), ['loss_record_id'], unique=False)



def downgrade():
    with op.batch_alter_table('win_back_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_win_back_attempts_loss_record_id'))

    op.drop_table('win_back_attempts')
    op.drop_table('loss_record_reasons')
    with op.batch_alter_table('risk_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_scores_value_at_risk'))

    op.drop_table('risk_scores')
    with op.batch_alter_table('loss_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loss_records_lost_on'))
        batch_op.drop_index(batch_op.f('ix_loss_records_customer_id'))

    op.drop_table('loss_records')
    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_values_tier'))

    op.drop_table('customer_values')
    with op.batch_alter_table('customer_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_statuses_status'))

    op.drop_table('customer_statuses')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_contracts_customer_start')

    op.drop_table('contracts')
    op.drop_table('value_settings')
    op.drop_table('risk_model_runs')
    op.drop_table('cohort_counts')
    op.drop_table('churn_settings')
